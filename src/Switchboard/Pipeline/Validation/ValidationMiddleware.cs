using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;

namespace Switchboard.Pipeline;

/// <summary>
/// The validation middleware: incoming, it validates every message before its handlers (in process and received);
/// outgoing, it validates a message before it leaves the process (for a transport or the outbox), so that the sender hears
/// of an invalid message instead of a remote dead-letter queue. Validators come from the builder and from the container.
/// </summary>
internal sealed class ValidationMiddleware(IServiceProvider? rootServices) : IIncomingMiddleware, IOutgoingMiddleware
{
    private readonly List<KeyValuePair<Type, Func<object, CancellationToken, ValueTask<IReadOnlyList<string>>>>> _registered = [];
    private readonly ConcurrentDictionary<Type, TypedValidation> _byType = new();

    public void Add<TMessage>(IValidator<TMessage> validator)
        => _registered.Add(new(typeof(TMessage), (message, cancellationToken) => validator.ValidateAsync((TMessage)message, cancellationToken)));

    public ValueTask InvokeAsync(IncomingContext context, IncomingNext next)
    {
        TypedValidation validation = For(context.MessageType);
        if (!validation.HasBuilderValidators && context.MessageContext.Services is null)
        {
            return next(context);
        }

        return ValidateThenAsync(validation, context, next);
    }

    public async ValueTask InvokeAsync(OutgoingContext context, OutgoingNext next)
    {
        if (context.Destination is not null || context.ThroughOutbox)
        {
            TypedValidation validation = For(context.MessageType);
            if (rootServices is null)
            {
                await validation.ValidateAsync(context.Message, null, context.CancellationToken).ConfigureAwait(false);
            }
            else
            {
                AsyncServiceScope scope = rootServices.CreateAsyncScope();
                await using (scope.ConfigureAwait(false))
                {
                    await validation.ValidateAsync(context.Message, scope.ServiceProvider, context.CancellationToken).ConfigureAwait(false);
                }
            }
        }

        await next(context).ConfigureAwait(false);
    }

    private static async ValueTask ValidateThenAsync(TypedValidation validation, IncomingContext context, IncomingNext next)
    {
        await validation.ValidateAsync(context.Message, context.MessageContext.Services, context.CancellationToken).ConfigureAwait(false);
        await next(context).ConfigureAwait(false);
    }

    private TypedValidation For(Type messageType) => _byType.GetOrAdd(messageType, Create);

    private TypedValidation Create(Type messageType)
    {
        Func<object, CancellationToken, ValueTask<IReadOnlyList<string>>>[] registered =
            [.. _registered.Where(r => r.Key.IsAssignableFrom(messageType)).Select(r => r.Value)];
        return (TypedValidation)Activator.CreateInstance(typeof(TypedValidation<>).MakeGenericType(messageType), [registered])!;
    }

    private abstract class TypedValidation(Func<object, CancellationToken, ValueTask<IReadOnlyList<string>>>[] registered)
    {
        public bool HasBuilderValidators => registered.Length > 0;

        protected abstract Type MessageType { get; }

        public async ValueTask ValidateAsync(object message, IServiceProvider? services, CancellationToken cancellationToken)
        {
            List<string>? errors = null;
            foreach (Func<object, CancellationToken, ValueTask<IReadOnlyList<string>>> validate in registered)
            {
                Collect(ref errors, await validate(message, cancellationToken).ConfigureAwait(false));
            }

            if (services is not null)
            {
                await ValidateFromContainerAsync(message, services, errors ??= [], cancellationToken).ConfigureAwait(false);
            }

            if (errors is { Count: > 0 })
            {
                throw new MessageValidationException(MessageType, errors);
            }
        }

        protected abstract ValueTask ValidateFromContainerAsync(object message, IServiceProvider services, List<string> errors, CancellationToken cancellationToken);

        protected static void Collect(ref List<string>? errors, IReadOnlyList<string> found)
        {
            if (found.Count > 0)
            {
                (errors ??= []).AddRange(found);
            }
        }
    }

    private sealed class TypedValidation<TMessage>(Func<object, CancellationToken, ValueTask<IReadOnlyList<string>>>[] registered) : TypedValidation(registered)
    {
        protected override Type MessageType => typeof(TMessage);

        protected override async ValueTask ValidateFromContainerAsync(object message, IServiceProvider services, List<string> errors, CancellationToken cancellationToken)
        {
            foreach (IValidator<TMessage> validator in services.GetServices<IValidator<TMessage>>())
            {
                errors.AddRange(await validator.ValidateAsync((TMessage)message, cancellationToken).ConfigureAwait(false));
            }
        }
    }
}
