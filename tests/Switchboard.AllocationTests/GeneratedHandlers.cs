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
