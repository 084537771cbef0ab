using Switchboard.Redis;

namespace Switchboard;

/// <summary>Puts a bus on Redis: <c>b.UseRedis(new RedisTransportOptions { ConnectionString = "127.0.0.1:6379" })</c>.</summary>
public static class RedisBusBuilderExtensions
{
    /// <summary>
    /// Uses a new <see cref="RedisTransport"/> (owned and disposed by the bus) and a <see cref="RedisResponseStore"/> on its
    /// connection, so that requests and <c>ExecuteAsync</c> with a wait get their results across processes.
    /// </summary>
    /// <param name="builder">The bus builder.</param>
    /// <param name="options">The transport's options; validated now.</param>
    /// <param name="responseKeyPrefix">The prefix of the response keys; <see langword="null"/> for <c>{StreamPrefix}:response:</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public static BusBuilder UseRedis(this BusBuilder builder, RedisTransportOptions options, string? responseKeyPrefix = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        RedisTransport transport = new(options);
        return builder
            .UseTransport(transport, disposeWithBus: true)
            .UseResponseStore(new RedisResponseStore(transport, responseKeyPrefix ?? $"{options.StreamPrefix}:response:"));
    }

    /// <summary>Uses a <see cref="RedisTransport"/> the caller created and owns, and a <see cref="RedisResponseStore"/> on its connection.</summary>
    /// <param name="builder">The bus builder.</param>
    /// <param name="transport">The transport; the caller disposes it after the bus.</param>
    /// <param name="responseKeyPrefix">The prefix of the response keys; <see langword="null"/> for <c>{StreamPrefix}:response:</c>.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder UseRedis(this BusBuilder builder, RedisTransport transport, string? responseKeyPrefix = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(transport);
        return builder
            .UseTransport(transport)
            .UseResponseStore(new RedisResponseStore(transport, responseKeyPrefix ?? $"{transport.Options.StreamPrefix}:response:"));
    }
}
