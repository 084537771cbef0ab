using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using StackExchange.Redis;
using Switchboard.Responses;

namespace Switchboard.Redis;

/// <summary>
/// A response store in Redis (seed 000's <c>RedisResponseStore(key_prefix, default_ttl_seconds)</c>): the worker stores
/// the result under <c>{prefix}{correlationId}</c> with an expiry and publishes it on one channel; a waiting sender is
/// woken by that notification, never by polling.
/// </summary>
/// <remarks>
/// A waiter registers, subscribes (once per store), and only then reads the key, so a response stored at any moment is
/// seen either by the read or by the notification. After a reconnection every waiter reads its key again, because
/// notifications published while the connection was down are not delivered.
/// </remarks>
public sealed class RedisResponseStore : IResponseStore
{
    private readonly Func<Task<IConnectionMultiplexer>> _connection;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<StoredResponse>> _waiters = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly RedisChannel _channel;
    private Task? _subscription;

    /// <summary>Creates a store on a connection the caller owns.</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="keyPrefix">The prefix of the response keys; the notification channel is <c>{keyPrefix}notify</c>.</param>
    /// <param name="defaultTimeToLive">How long a response is kept when the caller gives no positive time to live. The default is 60 s.</param>
    public RedisResponseStore(IConnectionMultiplexer connection, string keyPrefix = "switchboard:response:", TimeSpan? defaultTimeToLive = null)
        : this(() => Task.FromResult(connection), keyPrefix, defaultTimeToLive)
    {
        ArgumentNullException.ThrowIfNull(connection);
    }

    /// <summary>Creates a store on a <see cref="RedisTransport"/>'s connection.</summary>
    /// <param name="transport">The transport whose connection the store uses.</param>
    /// <param name="keyPrefix">The prefix of the response keys.</param>
    /// <param name="defaultTimeToLive">How long a response is kept when the caller gives no positive time to live. The default is 60 s.</param>
    public RedisResponseStore(RedisTransport transport, string keyPrefix = "switchboard:response:", TimeSpan? defaultTimeToLive = null)
        : this(transport is null ? throw new ArgumentNullException(nameof(transport)) : transport.GetConnectionAsync, keyPrefix, defaultTimeToLive)
    {
    }

    private RedisResponseStore(Func<Task<IConnectionMultiplexer>> connection, string keyPrefix, TimeSpan? defaultTimeToLive)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyPrefix);
        if (defaultTimeToLive is { } ttl)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero, nameof(defaultTimeToLive));
        }

        _connection = connection;
        KeyPrefix = keyPrefix;
        DefaultTimeToLive = defaultTimeToLive ?? TimeSpan.FromSeconds(60);
        _channel = RedisChannel.Literal(keyPrefix + "notify");
    }

    /// <summary>Gets the prefix of the response keys.</summary>
    public string KeyPrefix { get; }

    /// <summary>Gets how long a response is kept when the caller gives no positive time to live.</summary>
    public TimeSpan DefaultTimeToLive { get; }

    /// <inheritdoc />
    public async ValueTask StoreAsync(string correlationId, StoredResponse response, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(correlationId);
        ArgumentNullException.ThrowIfNull(response);
        IConnectionMultiplexer connection = await _connection().WaitAsync(cancellationToken).ConfigureAwait(false);
        byte[] payload = Encode(response);
        ITransaction transaction = connection.GetDatabase().CreateTransaction();
        Task<bool> set = transaction.StringSetAsync(KeyPrefix + correlationId, payload, timeToLive > TimeSpan.Zero ? timeToLive : DefaultTimeToLive);
        Task<long> published = transaction.PublishAsync(_channel, EncodeNotification(correlationId, payload));
        await transaction.ExecuteAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(set, published).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<StoredResponse> WaitAsync(string correlationId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(correlationId);
        IConnectionMultiplexer connection = await _connection().WaitAsync(cancellationToken).ConfigureAwait(false);
        TaskCompletionSource<StoredResponse> waiter = _waiters.GetOrAdd(correlationId, static _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
        try
        {
            await EnsureSubscribedAsync(connection, cancellationToken).ConfigureAwait(false);
            await CheckStoredAsync(connection, correlationId, waiter).ConfigureAwait(false);
            // A store shared by buses has no bus clock of its own: the caller's timeout runs on the system's.
            StoredResponse response = await waiter.Task.WaitAsync(timeout, TimeProvider.System, cancellationToken).ConfigureAwait(false);
            // Collected: the key is no longer needed.
            await connection.GetDatabase().KeyDeleteAsync(KeyPrefix + correlationId, CommandFlags.FireAndForget).ConfigureAwait(false);
            return response;
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No response for correlation id '{correlationId}' arrived within {timeout.TotalSeconds:0.###} s.");
        }
        finally
        {
            _waiters.TryRemove(new KeyValuePair<string, TaskCompletionSource<StoredResponse>>(correlationId, waiter));
        }
    }

    private Task EnsureSubscribedAsync(IConnectionMultiplexer connection, CancellationToken cancellationToken)
    {
        Task subscription;
        lock (_gate)
        {
            if (_subscription is null || _subscription.IsFaulted || _subscription.IsCanceled)
            {
                _subscription = SubscribeAsync(connection);
            }

            subscription = _subscription;
        }

        return subscription.WaitAsync(cancellationToken);
    }

    private async Task SubscribeAsync(IConnectionMultiplexer connection)
    {
        await connection.GetSubscriber().SubscribeAsync(_channel, (_, message) => OnNotification(message)).ConfigureAwait(false);
        connection.ConnectionRestored += (_, _) => _ = RecheckAllAsync(connection);
    }

    private void OnNotification(RedisValue message)
    {
        byte[]? data = message;
        if (data is null || data.Length < 4)
        {
            return;
        }

        int idLength = BinaryPrimitives.ReadInt32LittleEndian(data);
        if (idLength < 0 || idLength > data.Length - 4)
        {
            return;
        }

        string correlationId = Encoding.UTF8.GetString(data, 4, idLength);
        if (_waiters.TryGetValue(correlationId, out TaskCompletionSource<StoredResponse>? waiter))
        {
            waiter.TrySetResult(Decode(data.AsSpan(4 + idLength)));
        }
    }

    private async Task RecheckAllAsync(IConnectionMultiplexer connection)
    {
        foreach (KeyValuePair<string, TaskCompletionSource<StoredResponse>> waiter in _waiters)
        {
            try
            {
                await CheckStoredAsync(connection, waiter.Key, waiter.Value).ConfigureAwait(false);
            }
            catch (RedisException)
            {
                // Still unreachable: the next reconnection checks again, or the waiter times out.
            }
        }
    }

    private async Task CheckStoredAsync(IConnectionMultiplexer connection, string correlationId, TaskCompletionSource<StoredResponse> waiter)
    {
        byte[]? stored = await connection.GetDatabase().StringGetAsync(KeyPrefix + correlationId).ConfigureAwait(false);
        if (stored is not null)
        {
            waiter.TrySetResult(Decode(stored));
        }
    }

    // Layout: version, succeeded, then content type, error type, error message (length-prefixed UTF-8, -1 for null), body.
    internal static byte[] Encode(StoredResponse response)
    {
        byte[] contentType = Encoding.UTF8.GetBytes(response.ContentType);
        byte[]? errorType = response.ErrorType is null ? null : Encoding.UTF8.GetBytes(response.ErrorType);
        byte[]? errorMessage = response.ErrorMessage is null ? null : Encoding.UTF8.GetBytes(response.ErrorMessage);
        int length = 2 + 4 + contentType.Length + 4 + (errorType?.Length ?? 0) + 4 + (errorMessage?.Length ?? 0) + 4 + response.Body.Length;
        byte[] buffer = new byte[length];
        buffer[0] = 1;
        buffer[1] = response.Succeeded ? (byte)1 : (byte)0;
        int offset = 2;
        Write(buffer, ref offset, contentType);
        Write(buffer, ref offset, errorType);
        Write(buffer, ref offset, errorMessage);
        Write(buffer, ref offset, response.Body.Span);
        return buffer;
    }

    internal static StoredResponse Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length < 2 || data[0] != 1)
        {
            return StoredResponse.Failure("InvalidResponse", "The stored response has an unknown format.");
        }

        int offset = 2;
        string? contentType = ReadString(data, ref offset);
        string? errorType = ReadString(data, ref offset);
        string? errorMessage = ReadString(data, ref offset);
        ReadOnlySpan<byte> body = ReadBytes(data, ref offset);
        return new StoredResponse
        {
            Succeeded = data[1] == 1,
            ContentType = contentType ?? "application/json",
            ErrorType = errorType,
            ErrorMessage = errorMessage,
            Body = body.ToArray(),
        };
    }

    private static byte[] EncodeNotification(string correlationId, byte[] payload)
    {
        byte[] id = Encoding.UTF8.GetBytes(correlationId);
        byte[] buffer = new byte[4 + id.Length + payload.Length];
        BinaryPrimitives.WriteInt32LittleEndian(buffer, id.Length);
        id.CopyTo(buffer, 4);
        payload.CopyTo(buffer, 4 + id.Length);
        return buffer;
    }

    private static void Write(byte[] buffer, ref int offset, byte[]? value)
    {
        if (value is null)
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(offset), -1);
            offset += 4;
            return;
        }

        Write(buffer, ref offset, value.AsSpan());
    }

    private static void Write(byte[] buffer, ref int offset, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(offset), value.Length);
        offset += 4;
        value.CopyTo(buffer.AsSpan(offset));
        offset += value.Length;
    }

    private static string? ReadString(ReadOnlySpan<byte> data, ref int offset)
    {
        if (BinaryPrimitives.ReadInt32LittleEndian(data[offset..]) < 0)
        {
            offset += 4;
            return null;
        }

        return Encoding.UTF8.GetString(ReadBytes(data, ref offset));
    }

    private static ReadOnlySpan<byte> ReadBytes(ReadOnlySpan<byte> data, ref int offset)
    {
        int length = BinaryPrimitives.ReadInt32LittleEndian(data[offset..]);
        offset += 4;
        if (length < 0)
        {
            return [];
        }

        ReadOnlySpan<byte> value = data.Slice(offset, length);
        offset += length;
        return value;
    }
}
