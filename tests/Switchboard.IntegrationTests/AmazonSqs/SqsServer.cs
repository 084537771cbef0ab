using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Switchboard.AmazonSqs;

namespace Switchboard.IntegrationTests.AmazonSqs;

/// <summary>
/// The SQS emulator that scripts/servers.sh started (local-aws-sqs on loopback). Without it the tests fail with this
/// message; they never skip. The keys are dummies from the environment (the emulator does not check them), never real ones.
/// </summary>
public static class SqsServer
{
    public static Uri Url
        => Environment.GetEnvironmentVariable("SWITCHBOARD_SQS") is { Length: > 0 } value
            ? new Uri(value)
            : throw new InvalidOperationException(
                "SWITCHBOARD_SQS is not set, so there is no SQS emulator to test against. Run scripts/test.sh (it starts local-aws-sqs on 127.0.0.1:9480 " +
                "through scripts/servers.sh and sets it), or run `scripts/servers.sh start sqs` and set SWITCHBOARD_SQS=http://127.0.0.1:9480.");

    public static string AccessKeyId => Environment.GetEnvironmentVariable("SWITCHBOARD_SQS_ACCESS_KEY") ?? "test";

    public static string SecretAccessKey => Environment.GetEnvironmentVariable("SWITCHBOARD_SQS_SECRET_KEY") ?? "test";

    /// <summary>A queue-name prefix unique to one test (at most 20 characters).</summary>
    public static string NewPrefix() => "sbt" + Guid.NewGuid().ToString("N")[..10] + "-";

    /// <summary>Options for tests: short waits and leases, so that redelivery and lease extension take seconds, not minutes.</summary>
    public static SqsTransportOptions Options(string prefix, Uri? url = null) => new()
    {
        ServiceUrl = url ?? Url,
        AccessKeyId = AccessKeyId,
        SecretAccessKey = SecretAccessKey,
        QueueNamePrefix = prefix,
        WaitTime = TimeSpan.FromSeconds(1),
        VisibilityTimeout = TimeSpan.FromSeconds(3),
        GroupDiscoveryInterval = TimeSpan.FromSeconds(2),
    };

    public static AmazonSQSClient Client(Uri? url = null) => new(
        new BasicAWSCredentials(AccessKeyId, SecretAccessKey),
        new AmazonSQSConfig { ServiceURL = (url ?? Url).ToString(), AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 });

    /// <summary>Deletes every queue under a test's prefix.</summary>
    public static async Task DeleteQueuesAsync(string prefix, Uri? url = null)
    {
        try
        {
            using AmazonSQSClient client = Client(url);
            ListQueuesResponse queues = await client.ListQueuesAsync(new ListQueuesRequest { QueueNamePrefix = prefix, MaxResults = 1000 });
            foreach (string queue in queues.QueueUrls ?? [])
            {
                try
                {
                    await client.DeleteQueueAsync(queue);
                }
                catch (QueueDoesNotExistException)
                {
                }
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or AmazonClientException or AmazonServiceException)
        {
            // The emulator of a fault test is already gone.
        }
    }
}
