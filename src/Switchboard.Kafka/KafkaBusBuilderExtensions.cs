using Switchboard.Kafka;

namespace Switchboard;

/// <summary>Puts a bus on Kafka: <c>b.UseKafka(new KafkaTransportOptions { BootstrapServers = "127.0.0.1:9092" })</c>.</summary>
/// <remarks>
/// Kafka holds no response store: for requests and <c>ExecuteAsync</c> with a wait across processes, add one that all
/// processes share (for example <c>UseResponseStore(new RedisResponseStore(...))</c> from Switchboard.Redis).
/// </remarks>
public static class KafkaBusBuilderExtensions
{
    /// <summary>Uses a new <see cref="KafkaTransport"/>, owned and disposed by the bus.</summary>
    /// <param name="builder">The bus builder.</param>
    /// <param name="options">The transport's options; validated now.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public static BusBuilder UseKafka(this BusBuilder builder, KafkaTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        return builder.UseTransport(new KafkaTransport(options), disposeWithBus: true);
    }

    /// <summary>Uses a <see cref="KafkaTransport"/> the caller created and owns (and disposes after the bus).</summary>
    /// <param name="builder">The bus builder.</param>
    /// <param name="transport">The transport.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder UseKafka(this BusBuilder builder, KafkaTransport transport)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(transport);
        return builder.UseTransport(transport);
    }
}
