using Switchboard.Pipeline;

namespace Switchboard;

/// <summary>
/// The validation middleware: a failing validator rejects a message with a <see cref="MessageValidationException"/> before
/// any handler runs (the caller of a send or request gets it; a received message is dead-lettered with the errors as the
/// reason), and a message bound for a transport or the outbox is validated before it leaves.
/// </summary>
public static class ValidationBusBuilderExtensions
{
    /// <summary>
    /// Adds the validation middleware at this point of the pipeline (once; later calls keep the first position). Validators
    /// are those added with <c>AddValidator</c> and, with dependency injection, the container's <c>IValidator&lt;TMessage&gt;</c>
    /// services (resolved from the message's scope).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder UseValidation(this BusBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        Validation(builder);
        return builder;
    }

    /// <summary>Adds a validator for messages of <typeparamref name="TMessage"/> (and derived types), and the validation middleware if it is not there yet.</summary>
    /// <typeparam name="TMessage">The message type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="validator">The validator.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder AddValidator<TMessage>(this BusBuilder builder, IValidator<TMessage> validator)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(validator);
        Validation(builder).Add(validator);
        return builder;
    }

    /// <summary>Adds a validator written as a function that returns what is wrong (nothing when valid).</summary>
    /// <typeparam name="TMessage">The message type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="validate">Returns one sentence per problem; empty when the message is valid.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder AddValidator<TMessage>(this BusBuilder builder, Func<TMessage, IEnumerable<string>> validate)
    {
        ArgumentNullException.ThrowIfNull(validate);
        return builder.AddValidator(new DelegateValidator<TMessage>(validate));
    }

    private static ValidationMiddleware Validation(BusBuilder builder)
    {
        if (builder.Middleware.Validation is { } existing)
        {
            return existing;
        }

        ValidationMiddleware validation = new(builder.Services);
        builder.Middleware.Validation = validation;
        builder.UseIncoming((IIncomingMiddleware)validation).UseOutgoing((IOutgoingMiddleware)validation);
        return validation;
    }

    private sealed class DelegateValidator<TMessage>(Func<TMessage, IEnumerable<string>> validate) : IValidator<TMessage>
    {
        public ValueTask<IReadOnlyList<string>> ValidateAsync(TMessage message, CancellationToken cancellationToken)
            => new([.. validate(message)]);
    }
}
