namespace Switchboard.Testing;

/// <summary>
/// A real bus that records every message published, sent, requested or executed on it (cascades from handlers included),
/// answers requests from configured replies, and asserts in sentences. Give <see cref="Bus"/> to the code under test.
/// </summary>
/// <remarks>
/// <para>
/// It is an ordinary in-memory bus with one outgoing middleware in front of every other, so whatever else is configured
/// (handlers, validation, other middleware) runs as in production. A message that has a configured reply is answered
/// without reaching a handler. A command sent with no handler in this process is recorded and goes no further (the code
/// under test sends to something that is not there: the test asserts it was sent); a request with neither a reply nor a
/// handler fails with a message that says how to configure one.
/// </para>
/// </remarks>
public sealed class TestBus : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly List<RecordedMessage> _messages = [];
    private readonly List<KeyValuePair<Type, Func<object, object?>>> _replies = [];

    private TestBus(Action<BusBuilder>? configure)
    {
        Bus = MessageBus.Create(b =>
        {
            b.UseOutgoing(RecordAsync);
            configure?.Invoke(b);
        });
    }

    /// <summary>Gets the bus to hand to the code under test.</summary>
    public IMessageBus Bus { get; }

    /// <summary>Gets every message recorded so far, in the order they were handed to the bus.</summary>
    public IReadOnlyList<RecordedMessage> Messages
    {
        get
        {
            lock (_gate)
            {
                return [.. _messages];
            }
        }
    }

    /// <summary>Creates a test bus.</summary>
    /// <param name="configure">Real handlers, middleware and options, as for <see cref="MessageBus.Create"/>; none is needed.</param>
    /// <returns>The test bus; dispose it at the end of the test.</returns>
    public static TestBus Create(Action<BusBuilder>? configure = null) => new(configure);

    /// <summary>Answers every <typeparamref name="TRequest"/> (and derived) with <paramref name="reply"/> instead of a handler; a later reply for the same type wins.</summary>
    /// <typeparam name="TRequest">The request (or command) type.</typeparam>
    /// <typeparam name="TResult">The result type.</typeparam>
    /// <param name="reply">Computes the answer from the request.</param>
    /// <returns>This test bus.</returns>
    public TestBus Reply<TRequest, TResult>(Func<TRequest, TResult> reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        lock (_gate)
        {
            _replies.Insert(0, new(typeof(TRequest), message => reply((TRequest)message)));
        }

        return this;
    }

    /// <summary>Makes every <typeparamref name="TMessage"/> (and derived) fail with the exception <paramref name="failure"/> returns, as a broken downstream would.</summary>
    /// <typeparam name="TMessage">The message type.</typeparam>
    /// <param name="failure">Creates the exception.</param>
    /// <returns>This test bus.</returns>
    public TestBus Fail<TMessage>(Func<TMessage, Exception> failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        lock (_gate)
        {
            _replies.Insert(0, new(typeof(TMessage), message => throw failure((TMessage)message)));
        }

        return this;
    }

    /// <summary>Returns the messages of type <typeparamref name="T"/> (and derived) recorded with <paramref name="kind"/>, in order.</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="kind">How they were sent; <see langword="null"/> for any.</param>
    /// <returns>The messages.</returns>
    public IReadOnlyList<T> Recorded<T>(OutgoingKind? kind = null)
        => [.. Messages.Where(m => (kind is null || m.Kind == kind) && m.Message is T).Select(m => (T)m.Message)];

    /// <summary>Asserts that an event of type <typeparamref name="T"/> matching <paramref name="condition"/> was published, and returns the first.</summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <param name="condition">What the event must satisfy; <see langword="null"/> for any.</param>
    /// <returns>The first matching event.</returns>
    /// <exception cref="TestBusAssertionException">None was published; the message lists what was.</exception>
    public T AssertPublished<T>(Func<T, bool>? condition = null) => AssertRecorded(OutgoingKind.Publish, "published", condition);

    /// <summary>Asserts that a command of type <typeparamref name="T"/> matching <paramref name="condition"/> was sent, and returns the first.</summary>
    /// <typeparam name="T">The command type.</typeparam>
    /// <param name="condition">What the command must satisfy; <see langword="null"/> for any.</param>
    /// <returns>The first matching command.</returns>
    /// <exception cref="TestBusAssertionException">None was sent; the message lists what was.</exception>
    public T AssertSent<T>(Func<T, bool>? condition = null) => AssertRecorded(OutgoingKind.Send, "sent", condition);

    /// <summary>Asserts that a request of type <typeparamref name="T"/> matching <paramref name="condition"/> was made, and returns the first.</summary>
    /// <typeparam name="T">The request type.</typeparam>
    /// <param name="condition">What the request must satisfy; <see langword="null"/> for any.</param>
    /// <returns>The first matching request.</returns>
    /// <exception cref="TestBusAssertionException">None was made; the message lists what was.</exception>
    public T AssertRequested<T>(Func<T, bool>? condition = null) => AssertRecorded(OutgoingKind.Request, "requested", condition);

    /// <summary>Asserts that no event of type <typeparamref name="T"/> matching <paramref name="condition"/> was published.</summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <param name="condition">What such an event would satisfy; <see langword="null"/> for any.</param>
    /// <exception cref="TestBusAssertionException">One was published.</exception>
    public void AssertNotPublished<T>(Func<T, bool>? condition = null) => AssertNotRecorded(OutgoingKind.Publish, "published", condition);

    /// <summary>Asserts that no command of type <typeparamref name="T"/> matching <paramref name="condition"/> was sent.</summary>
    /// <typeparam name="T">The command type.</typeparam>
    /// <param name="condition">What such a command would satisfy; <see langword="null"/> for any.</param>
    /// <exception cref="TestBusAssertionException">One was sent.</exception>
    public void AssertNotSent<T>(Func<T, bool>? condition = null) => AssertNotRecorded(OutgoingKind.Send, "sent", condition);

    /// <summary>Forgets what was recorded (the replies stay).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _messages.Clear();
        }
    }

    /// <summary>Shuts the bus down.</summary>
    /// <returns>A task that completes when the bus has stopped.</returns>
    public ValueTask DisposeAsync() => Bus.DisposeAsync();

    private async ValueTask RecordAsync(OutgoingContext context, OutgoingNext next)
    {
        Func<object, object?>? reply = null;
        lock (_gate)
        {
            foreach (KeyValuePair<Type, Func<object, object?>> candidate in _replies)
            {
                if (candidate.Key.IsInstanceOfType(context.Message))
                {
                    reply = candidate.Value;
                    break;
                }
            }

            _messages.Add(new RecordedMessage(context.Kind, context.Message, context.Destination, new Dictionary<string, string>(context.Headers), reply is not null));
        }

        if (reply is not null)
        {
            object? result = reply(context.Message);
            if (context.ResultType is not null)
            {
                context.Result = result;
            }

            return;
        }

        if (context.LocalHandlers == 0 && context.Destination is null && context.Kind != OutgoingKind.Publish)
        {
            if (context.ResultType is not null)
            {
                throw new InvalidOperationException(
                    $"TestBus: {context.Message.GetType().Name} was {context.Kind.ToString().ToLowerInvariant()}ed and waits for a {context.ResultType.Name}, but there is no reply and no handler for it. " +
                    $"Configure one: test.Reply<{context.Message.GetType().Name}, {context.ResultType.Name}>(request => ...).");
            }

            return; // a command for something that is not in this test: recorded, and that is all
        }

        await next(context).ConfigureAwait(false);
    }

    private T AssertRecorded<T>(OutgoingKind kind, string verb, Func<T, bool>? condition)
    {
        foreach (RecordedMessage recorded in Messages)
        {
            if (recorded.Kind == kind && recorded.Message is T message && (condition is null || condition(message)))
            {
                return message;
            }
        }

        throw new TestBusAssertionException($"Expected {Describe<T>(condition)} to have been {verb}; recorded: {Listing()}.");
    }

    private void AssertNotRecorded<T>(OutgoingKind kind, string verb, Func<T, bool>? condition)
    {
        foreach (RecordedMessage recorded in Messages)
        {
            if (recorded.Kind == kind && recorded.Message is T message && (condition is null || condition(message)))
            {
                throw new TestBusAssertionException($"Expected no {typeof(T).Name}{(condition is null ? string.Empty : " matching the condition")} to have been {verb}, but {message} was; recorded: {Listing()}.");
            }
        }
    }

    private static string Describe<T>(Func<T, bool>? condition) => condition is null ? $"a {typeof(T).Name}" : $"a {typeof(T).Name} matching the condition";

    private string Listing()
    {
        IReadOnlyList<RecordedMessage> messages = Messages;
        return messages.Count == 0 ? "nothing" : string.Join(", ", messages);
    }
}
