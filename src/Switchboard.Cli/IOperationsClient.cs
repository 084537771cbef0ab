using Switchboard.Operations;

namespace Switchboard.Cli;

/// <summary>What the commands need, from a running app's dashboard API or straight from a broker or database.</summary>
internal interface IOperationsClient : IAsyncDisposable
{
    Task<IReadOnlyList<DestinationStatus>> StatusAsync(CancellationToken cancellationToken);

    Task<ViewPage> ListAsync(string source, DeadLetterQuery query, CancellationToken cancellationToken);

    Task<DeadLetterView> ShowAsync(string source, string id, CancellationToken cancellationToken);

    /// <summary>Replays or deletes the given ids, or (ids <see langword="null"/>) every dead letter that passes the filter.</summary>
    Task<DeadLetterBulkResult> SettleAsync(string source, IReadOnlyList<string>? ids, DeadLetterQuery filter, bool replay, Action<DeadLetterProgress>? progress, CancellationToken cancellationToken);
}

/// <summary>One page of dead letters as views (the dashboard API's shape).</summary>
internal sealed record ViewPage(string Source, IReadOnlyList<DeadLetterView> Items, string? NextCursor, long Total);
