using Npgsql;

namespace Switchboard.Postgres;

public sealed partial class PostgresOutboxStore
{
    /// <summary>The first reconnect delay of the listener after its connection was lost; it doubles up to <see cref="MaxReconnectDelay"/>.</summary>
    internal static readonly TimeSpan FirstReconnectDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest the listener waits between reconnect attempts.</summary>
    internal static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromSeconds(5);

    /// <summary>
    /// One connection that <c>LISTEN</c>s on the store's channel and calls back on every notification. When the connection is
    /// lost it reconnects with a growing delay and calls back once more, since commits during the outage went unheard. A
    /// connection silent for <see cref="PostgresOutboxStoreOptions.ListenerKeepAlive"/> is checked with a query, so that one
    /// dropped without a word is noticed (this works with a caller's data source too, whose password the store cannot read to
    /// open a connection with different keep-alive settings).
    /// </summary>
    private sealed class Listener(PostgresOutboxStore store, Action committed) : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _loop = Task.CompletedTask;
        private int _disposed;

        /// <summary>Gets how many times the listener reconnected (for tests).</summary>
        public int Reconnects { get; private set; }

        /// <summary>Gets whether the listening connection is lost and being reopened (for the health check).</summary>
        public bool Lost => Volatile.Read(ref _lost);

        private bool _lost;

        /// <summary>Listens once before returning, so that a commit after this call is heard; fails when the database does not answer.</summary>
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            NpgsqlConnection connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
            store.Track(this);
            _loop = Task.Run(() => RunAsync(connection, _stop.Token), CancellationToken.None);
        }

        private async Task<NpgsqlConnection> ConnectAsync(CancellationToken cancellationToken)
        {
            NpgsqlConnection connection = await store._dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                connection.Notification += OnNotification;
                using NpgsqlCommand listen = new($"LISTEN {PostgresOutboxStoreOptions.Quote(store._channel)}", connection);
                await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                return connection;
            }
            catch
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        private void OnNotification(object sender, NpgsqlNotificationEventArgs e) => committed();

        private static readonly KeyValuePair<string, object?> DbSystem = new("db.system", "postgresql");

        private async Task RunAsync(NpgsqlConnection? connection, CancellationToken stopping)
        {
            int failures = 0;
            bool lost = false;
            while (!stopping.IsCancellationRequested)
            {
                try
                {
                    if (connection is null)
                    {
                        connection = await ConnectAsync(stopping).ConfigureAwait(false);
                        Reconnects++;
                        failures = 0;
                        Volatile.Write(ref _lost, false);
                        if (lost)
                        {
                            PostgresDiagnostics.ListenerRestorations.Add(1, DbSystem);
                            lost = false;
                        }

                        // Commits made while nobody listened were not heard: look once.
                        committed();
                    }

                    while (true)
                    {
                        if (!await connection.WaitAsync(store._options.ListenerKeepAlive, stopping).ConfigureAwait(false))
                        {
                            using NpgsqlCommand ping = new("SELECT 1", connection) { CommandTimeout = 10 };
                            await ping.ExecuteNonQueryAsync(stopping).ConfigureAwait(false);
                        }
                    }
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException or IOException or System.Net.Sockets.SocketException or OperationCanceledException)
                {
                    // The connection was lost (or could not be opened): the error is not logged, since it can name the host.
                    if (connection is not null)
                    {
                        connection.Notification -= OnNotification;
                        await connection.DisposeAsync().ConfigureAwait(false);
                        connection = null;
                        PostgresDiagnostics.ListenerFailures.Add(1, DbSystem);
                        lost = true;
                        Volatile.Write(ref _lost, true);
                    }

                    double ms = Math.Min(MaxReconnectDelay.TotalMilliseconds, FirstReconnectDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failures++, 10)));
                    try
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(ms), store._options.TimeProvider, stopping).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }

            if (connection is not null)
            {
                connection.Notification -= OnNotification;
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            store.Untrack(this);
            await _stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopped while connecting.
            }

            _stop.Dispose();
        }
    }
}
