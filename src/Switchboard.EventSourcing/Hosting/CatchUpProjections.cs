using Microsoft.Extensions.Hosting;

namespace Switchboard.EventSourcing;

/// <summary>The catch-up projections registered with <c>AddProjection</c>, run while the host runs.</summary>
public sealed class CatchUpProjections : IHostedService, IAsyncDisposable
{
    private readonly IReadOnlyList<CatchUpProjectionRunner> _runners;
    private readonly CancellationTokenSource _stopping = new();
    private Task[] _running = [];
    private int _disposed;

    /// <summary>Initializes a new instance of the <see cref="CatchUpProjections"/> class.</summary>
    /// <param name="runners">The runners.</param>
    public CatchUpProjections(IEnumerable<CatchUpProjectionRunner> runners)
    {
        ArgumentNullException.ThrowIfNull(runners);
        _runners = [.. runners];
    }

    /// <summary>Gets the runners.</summary>
    public IReadOnlyList<CatchUpProjectionRunner> Runners => _runners;

    /// <summary>Returns the runner of a projection.</summary>
    /// <param name="name">The projection's name.</param>
    /// <returns>The runner.</returns>
    /// <exception cref="KeyNotFoundException">No projection has that name.</exception>
    public CatchUpProjectionRunner Get(string name)
    {
        foreach (CatchUpProjectionRunner runner in _runners)
        {
            if (string.Equals(runner.Projection.Name, name, StringComparison.Ordinal))
            {
                return runner;
            }
        }

        throw new KeyNotFoundException($"No catch-up projection is named '{name}'. Register it with AddProjection<T>() in AddEventSourcing.");
    }

    /// <summary>Starts every projection in the background.</summary>
    /// <param name="cancellationToken">Not used: starting does not wait.</param>
    /// <returns>A completed task.</returns>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Task[] running = new Task[_runners.Count];
        for (int i = 0; i < running.Length; i++)
        {
            CatchUpProjectionRunner runner = _runners[i];
            running[i] = Task.Run(() => runner.RunAsync(_stopping.Token), CancellationToken.None);
        }

        _running = running;
        return Task.CompletedTask;
    }

    /// <summary>Stops the projections after their current batch.</summary>
    /// <param name="cancellationToken">Stops waiting for them.</param>
    /// <returns>A task that completes when they stopped.</returns>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_running).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // The container may dispose it twice: as itself and as the hosted service it is registered as.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_running).ConfigureAwait(false);
        }
        finally
        {
            _stopping.Dispose();
        }
    }
}
