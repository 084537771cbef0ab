using Microsoft.Data.Sqlite;

namespace Switchboard.Outbox.Tests.Sqlite;

/// <summary>
/// A database file of its own under the temporary directory, deleted with its WAL files. A file, because the outbox's
/// dispatcher and inbox open connections of their own and a <c>:memory:</c> database belongs to a single connection (a shared
/// in-memory database, <c>Mode=Memory;Cache=Shared</c>, would work too, without WAL).
/// </summary>
public sealed class TemporaryDatabase : IDisposable
{
    public TemporaryDatabase()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"switchboard-outbox-{Guid.NewGuid():N}.db");
        ConnectionString = new SqliteConnectionStringBuilder { DataSource = Path, Pooling = true }.ToString();
    }

    public string Path { get; }

    public string ConnectionString { get; }

    public void Dispose()
    {
        // Pooled connections keep the file open: close them before deleting it.
        SqliteConnection.ClearAllPools();
        foreach (string file in new[] { Path, Path + "-wal", Path + "-shm", Path + "-journal" })
        {
            try
            {
                File.Delete(file);
            }
            catch (IOException)
            {
            }
        }
    }
}
