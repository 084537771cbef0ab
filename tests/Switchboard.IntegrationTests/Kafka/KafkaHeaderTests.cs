using System.Text;
using Confluent.Kafka;
using Switchboard.Kafka;
using Switchboard.Transport;

namespace Switchboard.IntegrationTests.Kafka;

public sealed record KfPayment(string Account, int Cents);

/// <summary>
/// The two derivable headers: a record leaves off <c>ce-partitionkey</c> when it equals the record key and
/// <c>ce-correlationid</c> when it equals <c>ce-id</c>, and every reader puts them back, so that handlers, dead letters and
/// replays see the headers a record with both (written by an older Switchboard) shows.
/// </summary>
public sealed class KafkaHeaderTests : IAsyncLifetime
{
    private const string TypeName = "kf-payment";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _prefix = KafkaServer.NewPrefix();
    private readonly List<IAsyncDisposable> _owned = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }
    }

    [Fact]
    public async Task Send_LeavesOffThePartitionKeyAndCorrelationHeaders_OnlyWhenTheKeyAndTheIdCarryThem()
    {
        const string destination = "payments-wire";
        KafkaTransport transport = Own(new KafkaTransport(KafkaServer.Options(_prefix)));
        IMessageBus web = await BusAsync("web", b => b.PartitionBy<KfPayment>(p => p.Account).RouteToTransport<KfPayment>(destination));

        // A message that starts a conversation: correlation id = id, partition key = record key.
        await web.PublishAsync(new KfPayment("acc-1", 100));
        // Neither derivable: the correlation id is another message's, the header's key is not the record's.
        await transport.SendAsync(
            new TransportMessage
            {
                Destination = destination,
                Headers = new Dictionary<string, string>
                {
                    [MessageHeaders.MessageId] = "m-2",
                    [MessageHeaders.CorrelationId] = "m-1",
                    [MessageHeaders.PartitionKey] = "acc-other",
                },
                Body = "{}"u8.ToArray(),
                PartitionKey = "acc-2",
            },
            CancellationToken.None);

        List<ConsumeResult<byte[]?, byte[]?>> records = ReadRaw(KafkaServer.Options(_prefix).TopicPrefix + destination, 2);
        ConsumeResult<byte[]?, byte[]?> first = records.Single(r => Key(r) == "acc-1");
        // (A trace context is there when some listener samples the send: another test's, say.)
        Assert.Equal(
            [MessageHeaders.SpecVersion, MessageHeaders.MessageId, MessageHeaders.MessageType, MessageHeaders.Source, MessageHeaders.Time, MessageHeaders.ContentType],
            first.Message.Headers.Select(h => h.Key).Where(n => n is not (MessageHeaders.TraceParent or MessageHeaders.TraceState)));

        ConsumeResult<byte[]?, byte[]?> second = records.Single(r => Key(r) == "acc-2");
        Assert.Equal(
            [new(MessageHeaders.MessageId, "m-2"), new(MessageHeaders.CorrelationId, "m-1"), new(MessageHeaders.PartitionKey, "acc-other")],
            second.Message.Headers.Select(h => new KeyValuePair<string, string>(h.Key, Encoding.UTF8.GetString(h.GetValueBytes()))));
    }

    [Fact]
    public async Task Receive_ARecordWithBothHeaders_AndOneWithout_ReadTheSame()
    {
        const string destination = "payments-old";
        KafkaTransport transport = Own(new KafkaTransport(KafkaServer.Options(_prefix)));
        ITransportReceiver receiver = Own(await transport.CreateReceiverAsync(new ReceiverOptions(destination, "ledger", "ledger-1"), CancellationToken.None));
        List<KeyValuePair<string, string>> old = Envelope("m-1", correlationId: "m-1", partitionKey: "acc-1");

        // As an older Switchboard wrote it, then as this one writes it; the same key, so in this order.
        await ProduceRawAsync(destination, "acc-1", old);
        await ProduceRawAsync(destination, "acc-1", [.. old.Where(h => h.Key is not (MessageHeaders.CorrelationId or MessageHeaders.PartitionKey))]);

        using CancellationTokenSource timeout = new(Patience);
        foreach (string written in new[] { "with both", "without" })
        {
            ReceivedMessage received = await receiver.ReceiveAsync(timeout.Token);
            Assert.True(old.SequenceEqual(received.Message.Headers), $"the record {written} the headers read as [{string.Join(", ", received.Message.Headers)}]");
            Assert.Equal("acc-1", received.Message.PartitionKey);
            await received.AckAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Receive_ARecordWithAKeyButNoPartitionKeyHeader_IsHandledWithTheKeyAsItsPartitionKey()
    {
        const string destination = "payments-foreign";
        TaskCompletionSource<(KfPayment Payment, string? Key, string? Correlation, string? Id)> handled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await BusAsync("ledger", b => b
            .AddMessageType<KfPayment>(TypeName)
            .RouteToTransport<KfPayment>(destination)
            .Handle<KfPayment>(async (payment, context, _) =>
            {
                handled.TrySetResult((payment, context.Headers.GetValueOrDefault(MessageHeaders.PartitionKey), context.CorrelationId, context.MessageId));
                await Task.CompletedTask;
            }));

        // A producer in another language: the CloudEvents Kafka binding puts the partition key in the record key only.
        List<KeyValuePair<string, string>> foreign = [.. Envelope("f-1", correlationId: null, partitionKey: null)];
        await ProduceRawAsync(destination, "acc-7", foreign, """{"account":"acc-7","cents":700}""");

        (KfPayment payment, string? key, string? correlation, string? id) = await handled.Task.WaitAsync(Patience);
        Assert.Equal(new KfPayment("acc-7", 700), payment);
        Assert.Equal("acc-7", key);
        Assert.Equal("f-1", id);
        Assert.Equal("f-1", correlation);
    }

    [Fact]
    public async Task DeadLetterAndReplay_ShowTheHeadersTheReceiverSaw()
    {
        const string destination = "payments-dlq";
        KafkaTransport transport = Own(new KafkaTransport(KafkaServer.Options(_prefix)));
        ITransportReceiver receiver = Own(await transport.CreateReceiverAsync(new ReceiverOptions(destination, "ledger", "ledger-1"), CancellationToken.None));
        IMessageBus web = await BusAsync("web", b => b.PartitionBy<KfPayment>(p => p.Account).RouteToTransport<KfPayment>(destination));
        await web.PublishAsync(new KfPayment("acc-3", 300));

        using CancellationTokenSource timeout = new(Patience);
        ReceivedMessage received = await receiver.ReceiveAsync(timeout.Token);
        List<KeyValuePair<string, string>> seen = [.. received.Message.Headers];
        Assert.Equal("acc-3", received.Message.GetHeader(MessageHeaders.PartitionKey));
        Assert.Equal(received.Message.MessageId, received.Message.GetHeader(MessageHeaders.CorrelationId));
        await received.DeadLetterAsync(new DeadLetterReason("declined", null, null, 1), CancellationToken.None);

        IDeadLetterQueue dlq = transport.GetDeadLetterQueue(destination, "ledger");
        DeadLetterMessage dead = Assert.Single(await dlq.ListAsync());
        Assert.Equal(seen, dead.Message.Headers.Where(h => !h.Key.StartsWith("sb-dlq-", StringComparison.Ordinal)));
        Assert.Equal("acc-3", dead.Message.PartitionKey);

        Assert.True(await dlq.ReplayAsync(dead.Id));
        ReceivedMessage replayed = await receiver.ReceiveAsync(timeout.Token);
        Assert.Equal(seen, replayed.Message.Headers.Where(h => h.Key != "sb-replay-for"));
        Assert.Equal("acc-3", replayed.Message.PartitionKey);
        await replayed.AckAsync(CancellationToken.None);
    }

    [Fact]
    public void HeaderValues_ReuseTheStringOfAConstantValue_AndDecodeEveryOtherValue()
    {
        KafkaHeaderValues values = new();
        string first = values.Decode(MessageHeaders.MessageType, "kf-payment"u8.ToArray());
        string again = values.Decode(MessageHeaders.MessageType, "kf-payment"u8.ToArray());
        string other = values.Decode(MessageHeaders.MessageType, "kf-refund"u8.ToArray());
        string sameBytesOtherName = values.Decode(MessageHeaders.Source, "kf-payment"u8.ToArray());

        Assert.Equal("kf-payment", first);
        Assert.Same(first, again);
        Assert.Equal("kf-refund", other);
        Assert.Equal("kf-payment", sameBytesOtherName);
        Assert.Same(sameBytesOtherName, values.Decode(MessageHeaders.Source, "kf-payment"u8.ToArray()));
        Assert.NotSame(values.Decode(MessageHeaders.MessageId, "m-1"u8.ToArray()), values.Decode(MessageHeaders.MessageId, "m-1"u8.ToArray()));
    }

    /// <summary>The headers the codec writes, in its order.</summary>
    private static List<KeyValuePair<string, string>> Envelope(string id, string? correlationId, string? partitionKey)
    {
        List<KeyValuePair<string, string>> headers =
        [
            new(MessageHeaders.SpecVersion, MessageHeaders.SpecVersionValue),
            new(MessageHeaders.MessageId, id),
            new(MessageHeaders.MessageType, TypeName),
            new(MessageHeaders.Source, "web"),
            new(MessageHeaders.Time, "2026-12-07T10:00:00.0000000+00:00"),
            new(MessageHeaders.ContentType, "application/json"),
        ];
        if (correlationId is not null)
        {
            headers.Add(new(MessageHeaders.CorrelationId, correlationId));
        }

        if (partitionKey is not null)
        {
            headers.Add(new(MessageHeaders.PartitionKey, partitionKey));
        }

        return headers;
    }

    private async Task ProduceRawAsync(string destination, string key, List<KeyValuePair<string, string>> headers, string body = "{}")
    {
        using IProducer<byte[]?, byte[]?> producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = KafkaServer.BootstrapServers })
            .SetLogHandler(static (_, _) => { })
            .Build();
        Headers record = [];
        foreach ((string name, string value) in headers)
        {
            record.Add(name, Encoding.UTF8.GetBytes(value));
        }

        await producer.ProduceAsync(_prefix + destination, new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes(key), Value = Encoding.UTF8.GetBytes(body), Headers = record });
    }

    /// <summary>Reads the first <paramref name="count"/> records of a topic (the broker's 4 partitions) as they are on the wire.</summary>
    private static List<ConsumeResult<byte[]?, byte[]?>> ReadRaw(string topic, int count)
    {
        using IConsumer<byte[]?, byte[]?> consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = KafkaServer.BootstrapServers,
            GroupId = "raw-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
        }).SetLogHandler(static (_, _) => { }).Build();
        consumer.Assign(Enumerable.Range(0, 4).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        List<ConsumeResult<byte[]?, byte[]?>> records = [];
        DateTime deadline = DateTime.UtcNow + Patience;
        while (records.Count < count && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { IsPartitionEOF: false } record)
            {
                records.Add(record);
            }
        }

        Assert.Equal(count, records.Count);
        return records;
    }

    private static string? Key(ConsumeResult<byte[]?, byte[]?> record) => record.Message.Key is { } key ? Encoding.UTF8.GetString(key) : null;

    private async Task<IMessageBus> BusAsync(string name, Action<BusBuilder> configure)
    {
        KafkaTransport transport = Own(new KafkaTransport(KafkaServer.Options(_prefix)));
        IMessageBus bus = Own(MessageBus.Create(b =>
        {
            b.Options.Name = name;
            b.UseKafka(transport);
            configure(b);
        }));
        await ((Switchboard.Bus.SwitchboardBus)bus).EnsureStartedAsync(CancellationToken.None);
        return bus;
    }

    private T Own<T>(T disposable)
        where T : IAsyncDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }
}
