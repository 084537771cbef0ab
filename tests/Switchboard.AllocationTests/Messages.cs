namespace Switchboard.AllocationTests;

public sealed record Ping(int Id);

public sealed record DoWork(int Id);

public sealed record Query(int Id) : IRequest<Answer>;

public sealed record Answer(int Id)
{
    public static readonly Answer Cached = new(42);
}

/// <summary>What the handlers do: count, so a test can also check that the handlers really ran.</summary>
internal sealed class Counter
{
    private long value;

    public long Value => Volatile.Read(ref value);

    public void Hit() => value++;
}
