using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;

namespace Switchboard.AmazonSqs;

/// <summary>
/// The SQS transport's own instruments, on the <c>Switchboard</c> meter: how often SQS became unreachable and came back
/// (the same shape as the Redis and RabbitMQ transports' connection counters). SQS is plain HTTPS with no connection to
/// lose, so an outage begins at the first call that fails for a reason of the service or the network (not of the request)
/// and ends at the next call that succeeds.
/// </summary>
internal sealed class SqsDiagnostics
{
    private static readonly Meter Meter = new(SwitchboardDiagnostics.MeterName);

    internal static readonly Counter<long> ConnectionFailures = Meter.CreateCounter<long>(
        "switchboard.sqs.connection.failures", unit: "{failure}", description: "Times SQS became unreachable or failed server-side (an outage begins).");

    internal static readonly Counter<long> ConnectionRestorations = Meter.CreateCounter<long>(
        "switchboard.sqs.connection.restorations", unit: "{restoration}", description: "Times SQS answered again after an outage (an outage ends).");

    private static readonly KeyValuePair<string, object?> System = new("messaging.system", "sqs");
    private int _down;
    private string? _lastError;

    /// <summary>Gets whether the last call to SQS failed for a reason of the service or the network.</summary>
    public bool IsDown => Volatile.Read(ref _down) != 0;

    /// <summary>Gets the type of the exception that began the current outage.</summary>
    public string? LastError => Volatile.Read(ref _lastError);

    public void Succeeded()
    {
        if (Volatile.Read(ref _down) != 0 && Interlocked.Exchange(ref _down, 0) != 0)
        {
            ConnectionRestorations.Add(1, System);
        }
    }

    /// <summary>Counts the failure as an outage when it is one; returns whether it was.</summary>
    public bool Failed(Exception exception)
    {
        if (!IsOutage(exception))
        {
            return false;
        }

        Volatile.Write(ref _lastError, exception.GetType().Name);
        if (Interlocked.Exchange(ref _down, 1) == 0)
        {
            ConnectionFailures.Add(1, System);
        }

        return true;
    }

    /// <summary>The network or the service failed, not the request: unreachable, timed out, throttled or a 5xx.</summary>
    public static bool IsOutage(Exception exception) => exception switch
    {
        AmazonServiceException service => service.StatusCode >= HttpStatusCode.InternalServerError || service.ErrorType == ErrorType.Unknown && service.InnerException is not null
            || service.ErrorCode is "ThrottlingException" or "RequestThrottled" or "ServiceUnavailable",
        HttpRequestException or SocketException or IOException or TimeoutException => true,
        AmazonClientException client => client.InnerException is not null && IsOutage(client.InnerException),
        TaskCanceledException cancelled => cancelled.InnerException is TimeoutException,
        _ => exception.InnerException is not null && IsOutage(exception.InnerException),
    };
}
