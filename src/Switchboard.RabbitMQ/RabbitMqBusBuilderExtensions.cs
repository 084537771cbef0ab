using Switchboard.RabbitMQ;

namespace Switchboard;

/// <summary>Puts a bus on RabbitMQ: <c>b.UseRabbitMq(new RabbitMqTransportOptions { Uri = new("amqp://guest:guest@127.0.0.1:5672/") })</c>.</summary>
/// <remarks>
/// RabbitMQ holds no response store: for requests and <c>ExecuteAsync</c> with a wait across processes, add one that all
/// processes share (for example <c>UseResponseStore(new RedisResponseStore(...))</c> from Switchboard.Redis).
/// </remarks>
public static class RabbitMqBusBuilderExtensions
{
    /// <summary>Uses a new <see cref="RabbitMqTransport"/>, owned and disposed by the bus.</summary>
    /// <param name="builder">The bus builder.</param>
    /// <param name="options">The transport's options; validated now.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public static BusBuilder UseRabbitMq(this BusBuilder builder, RabbitMqTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        return builder.UseTransport(new RabbitMqTransport(options), disposeWithBus: true);
    }

    /// <summary>Uses a <see cref="RabbitMqTransport"/> the caller created and owns (and disposes after the bus).</summary>
    /// <param name="builder">The bus builder.</param>
    /// <param name="transport">The transport.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder UseRabbitMq(this BusBuilder builder, RabbitMqTransport transport)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(transport);
        return builder.UseTransport(transport);
    }
}
