using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;

namespace Switchboard.AmazonSqs;

/// <summary>
/// Which failures of an SQS call are outages. SQS is plain HTTPS with no connection to lose, so an outage begins at the
/// first call that fails for a reason of the service or the network (not of the request) and ends at the next call that
/// SQS answers; the transport reports both to its core <see cref="Transport.ConnectionMonitor"/>.
/// </summary>
internal static class SqsDiagnostics
{
    /// <summary>The network or the service failed, not the request: unreachable, timed out, throttled or a 5xx.</summary>
    public static bool IsOutage(Exception exception) => exception switch
    {
        AmazonServiceException service => service.StatusCode >= HttpStatusCode.InternalServerError || (service.ErrorType == ErrorType.Unknown && service.InnerException is not null)
            || service.ErrorCode is "ThrottlingException" or "RequestThrottled" or "ServiceUnavailable",
        HttpRequestException or SocketException or IOException or TimeoutException => true,
        AmazonClientException client => client.InnerException is not null && IsOutage(client.InnerException),
        TaskCanceledException cancelled => cancelled.InnerException is TimeoutException,
        _ => exception.InnerException is not null && IsOutage(exception.InnerException),
    };
}
