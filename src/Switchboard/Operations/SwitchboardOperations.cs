namespace Switchboard.Operations;

/// <summary>
/// The operations read model over a list of <see cref="OperationsSource"/>s: the overview (backlog, in flight, lag,
/// dead letters, consumers, last error per source) and, through each source's <see cref="OperationsSource.DeadLetters"/>
/// and <see cref="DeadLetterQueueExtensions"/>, paging, filters, inspection, replay and delete. The dashboard and the
/// <c>switchboard</c> CLI are two faces of this one API.
/// </summary>
public sealed class SwitchboardOperations
{
    private readonly OperationsSource[] _sources;

    /// <summary>Creates the read model over the given sources.</summary>
    /// <param name="sources">The sources; ids must be unique.</param>
    /// <exception cref="ArgumentException">Two sources have the same id.</exception>
    public SwitchboardOperations(IEnumerable<OperationsSource> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        _sources = [.. sources];
        HashSet<string> ids = new(StringComparer.Ordinal);
        foreach (OperationsSource source in _sources)
        {
            if (!ids.Add(source.Id))
            {
                throw new ArgumentException($"Two operations sources have the id '{source.Id}'.", nameof(sources));
            }
        }
    }

    /// <summary>Gets the sources, in the order given.</summary>
    public IReadOnlyList<OperationsSource> Sources => _sources;

    /// <summary>Returns the source with an id, or <see langword="null"/>.</summary>
    /// <param name="id">The id (<see cref="OperationsSource.Id"/>).</param>
    /// <returns>The source, or <see langword="null"/>.</returns>
    public OperationsSource? FindSource(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        return Array.Find(_sources, s => string.Equals(s.Id, id, StringComparison.Ordinal));
    }

    /// <summary>Returns the source with an id.</summary>
    /// <param name="id">The id.</param>
    /// <returns>The source.</returns>
    /// <exception cref="KeyNotFoundException">There is no source with that id; the message lists the ids there are.</exception>
    public OperationsSource GetSource(string id)
        => FindSource(id) ?? throw new KeyNotFoundException(
            $"No source '{id}'. Sources: {(_sources.Length == 0 ? "none" : string.Join(", ", _sources.Select(s => s.Id)))}.");

    /// <summary>
    /// Reads every source's numbers, all at once. A source that cannot be read is reported as
    /// <see cref="DestinationHealth.Unreachable"/> with the error (credentials removed); the others are still read.
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>One status per source, in the order of <see cref="Sources"/>.</returns>
    public async ValueTask<IReadOnlyList<DestinationStatus>> GetOverviewAsync(CancellationToken cancellationToken = default)
    {
        Task<DestinationStatus>[] reads = new Task<DestinationStatus>[_sources.Length];
        for (int i = 0; i < _sources.Length; i++)
        {
            reads[i] = GetStatusAsync(_sources[i], cancellationToken);
        }

        return await Task.WhenAll(reads).ConfigureAwait(false);
    }

    /// <summary>Reads one source's numbers.</summary>
    /// <param name="source">The source.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The status; never throws for an unreachable source.</returns>
    public static async Task<DestinationStatus> GetStatusAsync(OperationsSource source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        try
        {
            long deadLetters = await source.DeadLetters.CountAsync(cancellationToken).ConfigureAwait(false);
            DestinationInfo info = source.Inspect is null ? new DestinationInfo() : await source.Inspect(cancellationToken).ConfigureAwait(false);
            if (info.LastError is { } error)
            {
                info = info with { LastError = Redaction.Redact(error) };
            }

            return new DestinationStatus
            {
                Source = source.Id,
                Transport = source.Transport,
                Destination = source.Destination,
                ConsumerGroup = source.ConsumerGroup,
                DeadLetters = deadLetters,
                Info = info,
                Health = deadLetters > 0 ? DestinationHealth.DeadLetters : DestinationHealth.Healthy,
            };
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new DestinationStatus
            {
                Source = source.Id,
                Transport = source.Transport,
                Destination = source.Destination,
                ConsumerGroup = source.ConsumerGroup,
                Health = DestinationHealth.Unreachable,
                Error = Redaction.Redact($"{ex.GetType().Name}: {ex.Message}"),
            };
        }
    }
}
