using Switchboard.AmazonSqs;

namespace Switchboard;

/// <summary>Puts a bus on Amazon SQS: <c>b.UseAmazonSqs(new SqsTransportOptions { Region = "eu-west-1" })</c>.</summary>
/// <remarks>
/// SQS holds no response store: for requests and <c>ExecuteAsync</c> with a wait across processes, add one that all
/// processes share (for example <c>UseResponseStore(new RedisResponseStore(...))</c> from Switchboard.Redis, seed 000's setup).
/// </remarks>
public static class SqsBusBuilderExtensions
{
    /// <summary>Uses a new <see cref="SqsTransport"/>, owned and disposed by the bus.</summary>
    /// <param name="builder">The bus builder.</param>
    /// <param name="options">The transport's options; validated now.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public static BusBuilder UseAmazonSqs(this BusBuilder builder, SqsTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        return builder.UseTransport(new SqsTransport(options), disposeWithBus: true);
    }

    /// <summary>Uses an <see cref="SqsTransport"/> the caller created and owns (and disposes after the bus).</summary>
    /// <param name="builder">The bus builder.</param>
    /// <param name="transport">The transport.</param>
    /// <returns>The builder.</returns>
    public static BusBuilder UseAmazonSqs(this BusBuilder builder, SqsTransport transport)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(transport);
        return builder.UseTransport(transport);
    }
}
