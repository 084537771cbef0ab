using System.Collections.Concurrent;
using Amazon.SQS;
using Amazon.SQS.Model;
using Switchboard.AmazonSqs;
using Switchboard.Transport.Conformance;
using Switchboard.Responses;

namespace Switchboard.IntegrationTests.AmazonSqs;

/// <summary>
/// Headers travel in a JSON envelope in the body by default (<see cref="SqsTransportOptions.HeadersInBody"/>), packed in
/// one attribute without it, or one attribute each with <see cref="SqsTransportOptions.HeadersAsAttributes"/>; a receiver
/// reads every form, so services can differ.
/// </summary>
public sealed class SqsHeaderAttributesTests : IAsyncLifetime
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
    public async Task Envelope_packed_and_separate_headers_reach_a_receiver_of_any_setting_and_look_as_configured_on_the_queue()
    {
        // A group whose queue exists but whose consumer is gone: what reaches it stays there to be read raw.
        IMessageBus audit = Bus("audit", Form.Envelope, b => b.RouteToTransport<SqsTagged>("hdr").Handle<SqsTagged>(_ => { }));
        await ((Switchboard.Bus.SwitchboardBus)audit).EnsureStartedAsync(CancellationToken.None);
        await audit.DisposeAsync();

        ConcurrentDictionary<string, string> seen = new();
        IMessageBus billing = Bus("billing", Form.Separate, b => b.RouteToTransport<SqsTagged>("hdr").Handle<SqsTagged>((m, context, _) =>
        {
            seen[m.Id] = $"{context.Headers.GetValueOrDefault("x-tenant")}|{context.Headers.GetValueOrDefault(MessageHeaders.MessageType)}";
            return ValueTask.CompletedTask;
        }));
        await ((Switchboard.Bus.SwitchboardBus)billing).EnsureStartedAsync(CancellationToken.None);

        IMessageBus packedSender = Bus("web", Form.Packed, b => b.RouteToTransport<SqsTagged>("hdr"));
        IMessageBus separateSender = Bus("web2", Form.Separate, b => b.RouteToTransport<SqsTagged>("hdr"));
        IMessageBus envelopeSender = Bus("web3", Form.Envelope, b => b.RouteToTransport<SqsTagged>("hdr"));
        PublishOptions tenant = new() { Headers = new Dictionary<string, string> { ["x-tenant"] = "acme" } };
        await packedSender.PublishAsync(new SqsTagged("packed"), tenant);
        await separateSender.PublishAsync(new SqsTagged("separate"), tenant);
        await envelopeSender.PublishAsync(new SqsTagged("enveloped"), tenant);

        await Eventually.TrueAsync(() => seen.Count == 3, Patience);
        Assert.StartsWith("acme|", seen["packed"], StringComparison.Ordinal);
        Assert.Equal(seen["packed"], seen["separate"]);
        Assert.Equal(seen["packed"], seen["enveloped"]);
        Assert.True(seen["packed"].Length > "acme|".Length, "the message type header arrived");

        using AmazonSQSClient client = SqsServer.Client();
        string url = (await client.GetQueueUrlAsync(_prefix + "hdr--audit")).QueueUrl;
        Dictionary<string, Dictionary<string, MessageAttributeValue>> raw = [];
        Dictionary<string, string> bodies = [];
        DateTime deadline = DateTime.UtcNow + Patience;
        while (raw.Count < 3 && DateTime.UtcNow < deadline)
        {
            ReceiveMessageResponse response = await client.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = url,
                MessageAttributeNames = ["All"],
                MaxNumberOfMessages = 10,
                WaitTimeSeconds = 1,
            });
            foreach (Message message in response.Messages ?? [])
            {
                string id = message.Body.Contains("enveloped", StringComparison.Ordinal) ? "enveloped"
                    : message.Body.Contains("packed", StringComparison.Ordinal) ? "packed" : "separate";
                raw[id] = message.MessageAttributes ?? [];
                bodies[id] = message.Body;
            }
        }

        Assert.Equal(["sb-headers"], raw["packed"].Keys);
        Assert.Contains("acme", raw["packed"]["sb-headers"].StringValue, StringComparison.Ordinal);
        Assert.Equal("acme", raw["separate"]["x-tenant"].StringValue);
        Assert.True(raw["separate"].ContainsKey(MessageHeaders.MessageType));
        Assert.False(raw["separate"].ContainsKey("sb-headers"));
        Assert.Empty(raw["enveloped"]);
        Assert.StartsWith("{\"sb-envelope\":1,\"headers\":{", bodies["enveloped"], StringComparison.Ordinal);
        Assert.Contains("\"x-tenant\":\"acme\"", bodies["enveloped"], StringComparison.Ordinal);
        Assert.EndsWith(",\"data\":{\"id\":\"enveloped\"}}", bodies["enveloped"], StringComparison.Ordinal);
        Assert.Equal("{\"id\":\"packed\"}", bodies["packed"]);
    }

    private enum Form
    {
        Envelope,
        Packed,
        Separate,
    }

    private IMessageBus Bus(string name, Form form, Action<BusBuilder> configure)
    {
        SqsTransportOptions options = SqsServer.Options(_prefix);
        options.HeadersAsAttributes = form == Form.Separate;
        options.HeadersInBody = form == Form.Envelope;
        options.GroupDiscoveryInterval = TimeSpan.Zero;
        SqsTransport transport = new(options);
        _owned.Add(transport);
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.Name = name;
            b.UseTransport(transport).UseResponseStore(new InMemoryResponseStore());
            configure(b);
        });
        _owned.Add(bus);
        return bus;
    }
}

public sealed record SqsTagged(string Id);
