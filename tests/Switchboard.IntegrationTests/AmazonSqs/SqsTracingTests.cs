using System.Collections.Concurrent;
using System.Diagnostics;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Switchboard.AmazonSqs;
using Switchboard.Responses;

namespace Switchboard.IntegrationTests.AmazonSqs;

/// <summary>The receive span of a message from SQS follows the OpenTelemetry conventions for AWS SQS.</summary>
public sealed class SqsTracingTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _prefix = SqsServer.NewPrefix();
    private readonly List<IAsyncDisposable> _owned = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        await SqsServer.DeleteQueuesAsync(_prefix);
    }

    [Fact]
    public async Task ReceiveSpan_NamesAwsSqs_TheQueue_AndSqsOwnMessageId()
    {
        string queue = _prefix + "traced--billing";
        TaskCompletionSource<Activity> stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
        using ActivityListener listener = new()
        {
            ShouldListenTo = source => source.Name == "Switchboard",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                // Other tests trace at the same time: this one's span is the one on this test's queue.
                if (activity.Kind == ActivityKind.Consumer && Equals(activity.GetTagItem("messaging.destination.name"), queue))
                {
                    stopped.TrySetResult(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        // The sender's own client, to read the id SQS gave the message when it stored it.
        AmazonSQSClient client = SqsServer.Client();
        ConcurrentQueue<string> sqsIds = new();
        client.AfterResponseEvent += (_, e) =>
        {
            if (e is WebServiceResponseEventArgs { Response: SendMessageBatchResponse response })
            {
                foreach (SendMessageBatchResultEntry entry in response.Successful ?? [])
                {
                    sqsIds.Enqueue(entry.MessageId);
                }
            }
        };
        SqsTransport senderTransport = Own(new SqsTransport(client, SqsServer.Options(_prefix)));
        SqsTransport workerTransport = Own(new SqsTransport(SqsServer.Options(_prefix)));
        InMemoryResponseStore responses = new();
        TaskCompletionSource<string> handled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        IMessageBus worker = Own(MessageBus.Create(b => b
            .Configure(o => o.Name = "billing")
            .UseTransport(workerTransport).UseResponseStore(responses)
            .RouteToTransport<SqsOrder>("traced")
            .Handle<SqsOrder>((e, context, ct) =>
            {
                handled.TrySetResult(context.MessageId);
                return ValueTask.CompletedTask;
            })));
        IMessageBus sender = Own(MessageBus.Create(b => b.Configure(o => o.Name = "web").UseTransport(senderTransport).UseResponseStore(responses).RouteToTransport<SqsOrder>("traced")));
        await ((Switchboard.Bus.SwitchboardBus)worker).EnsureStartedAsync(CancellationToken.None);

        await sender.PublishAsync(new SqsOrder("t-1"));
        string envelopeId = await handled.Task.WaitAsync(Patience);
        Activity span = await stopped.Task.WaitAsync(Patience);

        Assert.Equal("aws_sqs", span.GetTagItem("messaging.system"));
        Assert.Equal(queue, span.GetTagItem("messaging.destination.name"));
        Assert.EndsWith("/" + queue, (string?)span.GetTagItem("aws.sqs.queue.url"), StringComparison.Ordinal);
        Assert.Equal(Assert.Single(sqsIds), span.GetTagItem("messaging.message.id"));
        Assert.Equal(envelopeId, span.GetTagItem("switchboard.message.id"));
        Assert.Equal("billing", span.GetTagItem("messaging.consumer.group.name")); // the shared consumer's own tags stay
        Assert.Equal(1, span.GetTagItem("messaging.message.delivery_count"));
        client.Dispose();
    }

    private T Own<T>(T owned)
        where T : IAsyncDisposable
    {
        _owned.Add(owned);
        return owned;
    }
}
