using Switchboard.Operations;

namespace Switchboard.Cli;

/// <summary>Works on sources read straight from a broker or database (<c>--redis</c>, <c>--rabbitmq</c>, <c>--postgres</c>, <c>--sqlite</c>).</summary>
internal sealed class DirectClient(SwitchboardOperations operations, IReadOnlyList<IAsyncDisposable> owned) : IOperationsClient
{
    public SwitchboardOperations Operations => operations;

    public async Task<IReadOnlyList<DestinationStatus>> StatusAsync(CancellationToken cancellationToken)
        => await operations.GetOverviewAsync(cancellationToken).ConfigureAwait(false);

    public async Task<ViewPage> ListAsync(string source, DeadLetterQuery query, CancellationToken cancellationToken)
    {
        OperationsSource found = Find(source);
        DeadLetterPage page = await found.DeadLetters.BrowseAsync(query, cancellationToken).ConfigureAwait(false);
        return new ViewPage(found.Id, [.. page.Items.Select(m => DeadLetterView.Create(found, m, details: false))], page.NextCursor, page.Total);
    }

    public async Task<DeadLetterView> ShowAsync(string source, string id, CancellationToken cancellationToken)
    {
        OperationsSource found = Find(source);
        Transport.DeadLetterMessage message = await found.DeadLetters.FindAsync(id, cancellationToken).ConfigureAwait(false)
            ?? throw new CliNotFoundException($"No dead letter '{id}' in {found.Id}.");
        return DeadLetterView.Create(found, message, details: true);
    }

    public async Task<DeadLetterBulkResult> SettleAsync(string source, IReadOnlyList<string>? ids, DeadLetterQuery filter, bool replay, Action<DeadLetterProgress>? progress, CancellationToken cancellationToken)
    {
        OperationsSource found = Find(source);
        ids ??= await found.DeadLetters.SelectIdsAsync(filter, cancellationToken).ConfigureAwait(false);
        Progress report = new(progress);
        return replay
            ? await found.DeadLetters.ReplayManyAsync(ids, report, cancellationToken).ConfigureAwait(false)
            : await found.DeadLetters.DeleteManyAsync(ids, report, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (IAsyncDisposable resource in owned.Reverse())
        {
            await resource.DisposeAsync().ConfigureAwait(false);
        }
    }

    private OperationsSource Find(string source)
        => operations.FindSource(source) ?? throw new CliNotFoundException(
            $"No source '{source}'. Sources: {(operations.Sources.Count == 0 ? "none found" : string.Join(", ", operations.Sources.Select(s => s.Id)))}.");

    private sealed class Progress(Action<DeadLetterProgress>? report) : IProgress<DeadLetterProgress>
    {
        public void Report(DeadLetterProgress value) => report?.Invoke(value);
    }
}
