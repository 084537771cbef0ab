using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Switchboard.Sqlite;

/// <summary>
/// Wakes the dispatchers of this process when a transaction that wrote outbox rows commits: an <c>sqlite3_commit_hook</c> on
/// the connection's handle, installed once per handle (pooled handles keep it), armed by every write of outbox rows and
/// disarmed by the commit or by a rollback (<c>sqlite3_rollback_hook</c>). SQLite runs the hook inside the commit, holding
/// its locks, before the commit is done: it only signals; the dispatcher's claim (<c>BEGIN IMMEDIATE</c>) then waits for the
/// commit to finish and sees the rows.
/// </summary>
internal sealed class SqliteCommitHook
{
    private static readonly ConditionalWeakTable<sqlite3, SqliteCommitHook> s_hooks = [];

    // SQLite keeps a pointer to these for as long as the handle lives: static fields keep them from the garbage collector.
    private static readonly delegate_commit s_onCommit = OnCommit;
    private static readonly delegate_rollback s_onRollback = OnRollback;

    private readonly Lock _gate = new();
    private SqliteListeners[] _targets = [];
    private int _armed;

    /// <summary>Installs the hook on the connection's handle (once) and arms it to wake <paramref name="listeners"/> at the next commit.</summary>
    public static void Arm(SqliteConnection connection, SqliteListeners listeners)
    {
        sqlite3 handle = connection.Handle ?? throw new InvalidOperationException("The SQLite connection is not open.");
        SqliteCommitHook hook = s_hooks.GetValue(handle, static h =>
        {
            SqliteCommitHook created = new();
            raw.sqlite3_commit_hook(h, s_onCommit, created);
            raw.sqlite3_rollback_hook(h, s_onRollback, created);
            return created;
        });
        hook.Add(listeners);
        Volatile.Write(ref hook._armed, 1);
    }

    /// <summary>Whether the handle of <paramref name="connection"/> carries the hook (tests).</summary>
    internal static bool IsInstalled(SqliteConnection connection)
        => connection.Handle is { } handle && s_hooks.TryGetValue(handle, out _);

    private void Add(SqliteListeners listeners)
    {
        SqliteListeners[] targets = Volatile.Read(ref _targets);
        if (Array.IndexOf(targets, listeners) >= 0)
        {
            return;
        }

        lock (_gate)
        {
            if (Array.IndexOf(_targets, listeners) < 0)
            {
                Volatile.Write(ref _targets, [.. _targets, listeners]);
            }
        }
    }

    /// <summary>Runs inside SQLite's commit: signal and return 0 (a non-zero value would turn the commit into a rollback).</summary>
    private static int OnCommit(object state)
    {
        SqliteCommitHook hook = (SqliteCommitHook)state;
        if (Interlocked.Exchange(ref hook._armed, 0) == 1)
        {
            foreach (SqliteListeners listeners in Volatile.Read(ref hook._targets))
            {
                listeners.Signal();
            }
        }

        return 0;
    }

    private static void OnRollback(object state) => Volatile.Write(ref ((SqliteCommitHook)state)._armed, 0);
}

/// <summary>The callbacks of one store's <see cref="SqliteOutboxStore.ListenAsync"/>.</summary>
internal sealed class SqliteListeners
{
    private readonly Lock _gate = new();
    private Action[] _callbacks = [];

    public IAsyncDisposable Add(Action callback)
    {
        lock (_gate)
        {
            _callbacks = [.. _callbacks, callback];
        }

        return new Registration(this, callback);
    }

    public void Clear()
    {
        lock (_gate)
        {
            _callbacks = [];
        }
    }

    /// <summary>Calls every callback; never throws (it runs inside SQLite's commit, in native code's stack).</summary>
    public void Signal()
    {
        foreach (Action callback in Volatile.Read(ref _callbacks))
        {
            try
            {
                callback();
            }
#pragma warning disable CA1031 // An exception must not unwind into SQLite's commit; a missed wake-up is covered by polling.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    private void Remove(Action callback)
    {
        lock (_gate)
        {
            int index = Array.IndexOf(_callbacks, callback);
            if (index >= 0)
            {
                _callbacks = [.. _callbacks[..index], .. _callbacks[(index + 1)..]];
            }
        }
    }

    private sealed class Registration(SqliteListeners owner, Action callback) : IAsyncDisposable
    {
        private int _disposed;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Remove(callback);
            }

            return default;
        }
    }
}
