using Switchboard.Operations;

namespace Switchboard.Dashboard;

/// <summary>
/// The bulk replays and deletes the page started: each runs in the background, reports its progress after every message,
/// and stops after the current message when cancelled (or when the app stops). One job at a time per source, so two
/// people never work through the same dead letters at once. Finished jobs are kept for an hour (the newest 50).
/// </summary>
internal sealed class DashboardJobs
{
    private const int Kept = 50;
    private static readonly TimeSpan Retention = TimeSpan.FromHours(1);
    private readonly Lock _lock = new();
    private readonly List<DashboardJob> _jobs = [];

    /// <summary>Starts a job, or returns <see langword="null"/> and the job already running on the source.</summary>
    public DashboardJob? TryStart(OperationsSource source, bool replay, Func<CancellationToken, Task<IReadOnlyCollection<string>>> select, CancellationToken stopping, out DashboardJob? running)
    {
        DashboardJob job;
        lock (_lock)
        {
            running = _jobs.Find(j => j.SourceId == source.Id && !j.IsFinished);
            if (running is not null)
            {
                return null;
            }

            DateTimeOffset now = TimeProvider.System.GetUtcNow();
            _jobs.RemoveAll(j => j.IsFinished && j.FinishedAt < now - Retention);
            while (_jobs.Count >= Kept && _jobs.FindIndex(j => j.IsFinished) is int oldest and >= 0)
            {
                _jobs.RemoveAt(oldest);
            }

            job = new DashboardJob(Guid.NewGuid().ToString("N"), source, replay, now, stopping);
            _jobs.Add(job);
        }

        _ = Task.Run(() => job.RunAsync(select), CancellationToken.None);
        return job;
    }

    public DashboardJob? Find(string id)
    {
        lock (_lock)
        {
            return _jobs.Find(j => j.Id == id);
        }
    }

    /// <summary>The jobs kept, newest first, of one source or of all.</summary>
    public IReadOnlyList<DashboardJob> List(string? source)
    {
        lock (_lock)
        {
            return [.. _jobs.Where(j => source is null || j.SourceId == source).Reverse()];
        }
    }
}

/// <summary>One bulk replay or delete: a snapshot of ids settled one by one, each as one step of its transport.</summary>
internal sealed class DashboardJob : IProgress<DeadLetterProgress>
{
    private readonly Lock _lock = new();
    private readonly OperationsSource _source;
    private readonly bool _replay;
    private readonly CancellationTokenSource _cancel;
    private string _state = "selecting";
    private int _total;
    private int _done;
    private int _succeeded;
    private bool _cancelRequested;
    private string? _error;
    private DateTimeOffset? _finishedAt;

    public DashboardJob(string id, OperationsSource source, bool replay, DateTimeOffset startedAt, CancellationToken stopping)
    {
        Id = id;
        _source = source;
        _replay = replay;
        StartedAt = startedAt;
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(stopping);
    }

    public string Id { get; }

    public string SourceId => _source.Id;

    public string Action => _replay ? "replay" : "delete";

    public DateTimeOffset StartedAt { get; }

    public DateTimeOffset? FinishedAt
    {
        get
        {
            lock (_lock)
            {
                return _finishedAt;
            }
        }
    }

    public bool IsFinished => FinishedAt is not null;

    public void Report(DeadLetterProgress value)
    {
        lock (_lock)
        {
            _total = value.Total;
            _done = value.Done;
            _succeeded = value.Succeeded;
        }
    }

    /// <summary>Asks the job to stop after the message it is settling; what was settled stays settled.</summary>
    public void Cancel()
    {
        lock (_lock)
        {
            if (_finishedAt is not null)
            {
                return;
            }

            _cancelRequested = true;
        }

        try
        {
            // Outside the lock: cancellation callbacks may run the job's last steps on this thread.
            _cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // It finished meanwhile.
        }
    }

    public JobView View()
    {
        lock (_lock)
        {
            return new JobView(Id, SourceId, Action, _state, _total, _done, _succeeded, _done - _succeeded, _cancelRequested, _error, StartedAt, _finishedAt);
        }
    }

    internal async Task RunAsync(Func<CancellationToken, Task<IReadOnlyCollection<string>>> select)
    {
        CancellationToken cancellationToken = _cancel.Token;
        string state;
        string? error = null;
        try
        {
            IReadOnlyCollection<string> ids = await select(cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                _state = "running";
                _total = ids.Count;
            }

            DeadLetterBulkResult result = _replay
                ? await _source.DeadLetters.ReplayManyAsync(ids, this, cancellationToken).ConfigureAwait(false)
                : await _source.DeadLetters.DeleteManyAsync(ids, this, cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                _total = result.Selected;
                _done = result.Succeeded + result.Missing;
                _succeeded = result.Succeeded;
            }

            state = result.Cancelled ? "cancelled" : "completed";
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            state = "cancelled";
        }
        catch (Exception ex)
        {
            // What was settled before the error stays settled; the rest is untouched.
            state = "failed";
            error = Redaction.Redact($"{ex.GetType().Name}: {ex.Message}");
        }

        lock (_lock)
        {
            _state = state;
            _error = error;
            _finishedAt = TimeProvider.System.GetUtcNow();
        }

        _cancel.Dispose();
    }
}

/// <summary>A job as the JSON API shows it. <c>state</c>: selecting, running, completed, cancelled or failed.</summary>
internal sealed record JobView(
    string Id,
    string Source,
    string Action,
    string State,
    int Total,
    int Done,
    int Succeeded,
    int Missing,
    bool CancelRequested,
    string? Error,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt);
