namespace Switchboard.AllocationTests;

public sealed record ClassPing(int Id);

public sealed record ClassQuery(int Id) : IRequest<Answer>;

/// <summary>Counts for the generated-path tests; static because generated registration creates the handler itself.</summary>
internal static class ClassCounter
{
    private static long s_value;

    public static long Value => Volatile.Read(ref s_value);

    public static void Hit() => Interlocked.Increment(ref s_value);
}

/// <summary>A class handler that never reads its context: registered by AddGeneratedHandlers, it takes the fast path.</summary>
public sealed class ClassPingHandler : IHandler<ClassPing>
{
    public ValueTask HandleAsync(ClassPing message, MessageContext context, CancellationToken cancellationToken)
    {
        ClassCounter.Hit();
        return default;
    }
}

public sealed class ClassQueryHandler : IHandler<ClassQuery, Answer>
{
    public ValueTask<Answer> HandleAsync(ClassQuery message, MessageContext context, CancellationToken cancellationToken)
    {
        ClassCounter.Hit();
        return new(Answer.Cached);
    }
}

public sealed record ClassBroadcast(int Id);

public sealed record ClassLaterBroadcast(int Id);

// Three generated handlers of one event: on a standalone bus they run fused, as one call.

public sealed class ClassBroadcastHandler1 : IHandler<ClassBroadcast>
{
    public ValueTask HandleAsync(ClassBroadcast message, MessageContext context, CancellationToken cancellationToken)
    {
        ClassCounter.Hit();
        return default;
    }
}

public sealed class ClassBroadcastHandler2 : IHandler<ClassBroadcast>
{
    public ValueTask HandleAsync(ClassBroadcast message, MessageContext context, CancellationToken cancellationToken)
    {
        ClassCounter.Hit();
        return default;
    }
}

public sealed class ClassBroadcastHandler3 : IHandler<ClassBroadcast>
{
    public ValueTask HandleAsync(ClassBroadcast message, MessageContext context, CancellationToken cancellationToken)
    {
        ClassCounter.Hit();
        return default;
    }
}

/// <summary>Where the middle handler of <see cref="ClassLaterBroadcast"/> gets its task: set by the test that measures it.</summary>
internal static class ClassLater
{
    public static Func<ValueTask>? Next { get; set; }
}

public sealed class ClassLaterBroadcastHandler1 : IHandler<ClassLaterBroadcast>
{
    public ValueTask HandleAsync(ClassLaterBroadcast message, MessageContext context, CancellationToken cancellationToken)
    {
        ClassCounter.Hit();
        return default;
    }
}

/// <summary>Completes later: the fused run's synchronous part ends here, and the rest runs when the test completes it.</summary>
public sealed class ClassLaterBroadcastHandler2 : IHandler<ClassLaterBroadcast>
{
    public ValueTask HandleAsync(ClassLaterBroadcast message, MessageContext context, CancellationToken cancellationToken)
        => ClassLater.Next?.Invoke() ?? default;
}

public sealed class ClassLaterBroadcastHandler3 : IHandler<ClassLaterBroadcast>
{
    public ValueTask HandleAsync(ClassLaterBroadcast message, MessageContext context, CancellationToken cancellationToken)
    {
        ClassCounter.Hit();
        return default;
    }
}
