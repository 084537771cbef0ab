using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Switchboard.Sqlite;

/// <summary>
/// Wakes the dispatchers of this process when a transaction that wrote outbox rows commits: an <c>sqlite3_commit_hook</c> on
/// the connection's handle, installed once per handle (pooled handles keep it) and armed with the transaction that wrote
/// rows. SQLite runs the hook inside the commit, holding its locks, before the commit is done: it only signals; the
/// dispatcher's claim (<c>BEGIN IMMEDIATE</c>) then waits for the commit to finish and sees the rows.
/// </summary>
/// <remarks>
/// A rolled-back transaction never reaches the hook, but leaves it armed. The rollback hook cannot disarm it: Microsoft.Data.Sqlite
/// sets and clears <c>sqlite3_rollback_hook</c> itself, for every transaction. So the hook remembers which transaction armed
/// it, and signals only while that one is still open (its <see cref="SqliteTransaction.Connection"/> is set until
/// Microsoft.Data.Sqlite completes it, after the <c>COMMIT</c> returned): a later commit on the same handle, after that
/// transaction rolled back, wakes nobody.
/// </remarks>
internal sealed class SqliteCommitHook
{
    private static readonly ConditionalWeakTable<sqlite3, SqliteCommitHook> s_hooks = [];

    // SQLite keeps a pointer to this for as long as the handle lives: a static field keeps it from the garbage collector.
    private static readonly delegate_commit s_onCommit = OnCommit;

    private readonly Lock _gate = new();
    private SqliteListeners[] _targets = [];
    private SqliteTransaction? _armedBy;

    /// <summary>Installs the hook on the transaction's handle (once) and arms it to wake <paramref name="listeners"/> when the transaction commits.</summary>
    public static void Arm(SqliteTransaction transaction, SqliteListeners listeners)
    {
        sqlite3 handle = transaction.Connection?.Handle ?? throw new InvalidOperationException("The SQLite transaction is not open.");
        SqliteCommitHook hook = s_hooks.GetValue(handle, static h =>
        {
            SqliteCommitHook created = new();
            raw.sqlite3_commit_hook(h, s_onCommit, created);
            return created;
        });
        hook.Add(listeners);
        Volatile.Write(ref hook._armedBy, transaction);
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
        if (Interlocked.Exchange(ref hook._armedBy, null) is { Connection: not null })
        {
            foreach (SqliteListeners listeners in Volatile.Read(ref hook._targets))
            {
                listeners.Signal();
            }
        }

        return 0;
    }
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
            Volatile.Write(ref _callbacks, [.. _callbacks, callback]);
        }

        return new Registration(this, callback);
    }

    public void Clear()
    {
        lock (_gate)
        {
            Volatile.Write(ref _callbacks, []);
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
                Volatile.Write(ref _callbacks, [.. _callbacks[..index], .. _callbacks[(index + 1)..]]);
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
