namespace Switchboard.Tests.ScannedHandlers;

public sealed record ScannedPing(string Id);

public sealed record ScannedQuestion(int N) : IRequest<int>;

/// <summary>Counts what the scanned handlers saw; the hosting tests read it.</summary>
public sealed class ScanLog
{
    private readonly List<string> _entries = [];

    public IReadOnlyList<string> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public void Add(string entry)
    {
        lock (_entries)
        {
            _entries.Add(entry);
        }
    }
}

public sealed class ScannedPingHandler(ScanLog log) : IHandler<ScannedPing>
{
    public ValueTask HandleAsync(ScannedPing message, MessageContext context, CancellationToken cancellationToken)
    {
        log.Add("ping " + message.Id);
        return default;
    }
}

public sealed class ScannedQuestionHandler : IHandler<ScannedQuestion, int>
{
    public ValueTask<int> HandleAsync(ScannedQuestion message, MessageContext context, CancellationToken cancellationToken)
        => ValueTask.FromResult(message.N * 3);
}

/// <summary>Not a handler: the scan must skip it.</summary>
public sealed class NotAHandler
{
}

/// <summary>Abstract: the scan must skip it.</summary>
public abstract class AbstractPingHandler : IHandler<ScannedPing>
{
    public abstract ValueTask HandleAsync(ScannedPing message, MessageContext context, CancellationToken cancellationToken);
}
