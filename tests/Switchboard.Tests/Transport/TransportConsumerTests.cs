using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Switchboard.Transport;
using Switchboard.Transport.InMemory;

namespace Switchboard.Tests.Transport;

public sealed record TcCharge(string OrderId, long AmountCents) : IRequest<string>;
public sealed record TcNotify(string OrderId);
public sealed record TcBlob(string Data) : IRequest<int>;

/// <summary>The consumer loop every transport shares, driven through the bus's ExecuteAsync path on an in-memory transport.</summary>
public sealed class TransportConsumerTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);
    private const string Endpoint = "switchboard";

    private static void FastRetries(BusBuilder b, int maxAttempts)
    {
        b.Options.Retry.MaxAttempts = maxAttempts;
        b.Options.Retry.InitialDelay = TimeSpan.FromMilliseconds(5);
        b.Options.Retry.Jitter = false;
    }

    private static TransportStatistics Transport(IMessageBus bus) => bus.GetStatistics().Transports["inmemory"];

    private static TransportMessage Raw(string? type, string body)
    {
        Dictionary<string, string> headers = new() { [MessageHeaders.MessageId] = Guid.NewGuid().ToString("N") };
        if (type is not null)
        {
            headers[MessageHeaders.MessageType] = type;
        }

        return new TransportMessage { Destination = Endpoint, Headers = headers, Body = Encoding.UTF8.GetBytes(body) };
    }

    [Fact]
    public async Task A_handler_that_fails_twice_then_succeeds_is_retried_and_its_result_returned()
    {
        ConcurrentQueue<int> attempts = new();
        InMemoryTransport transport = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.UseTransport(transport);
            FastRetries(b, maxAttempts: 3);
            b.Handle<TcCharge, string>((c, context, ct) =>
            {
                attempts.Enqueue(context.Attempt);
                return context.Attempt < 3
                    ? throw new TimeoutException($"gateway timeout on attempt {context.Attempt}")
                    : ValueTask.FromResult("charged " + c.OrderId);
            });
        });

        object? result = await bus.ExecuteAsync(new TcCharge("o-1", 100), new ExecuteOptions { Timeout = Patience });

        Assert.Equal("charged o-1", result);
        Assert.Equal([1, 2, 3], attempts);
        TransportStatistics stats = Transport(bus);
        Assert.Equal(1, stats.Sent);
        Assert.Equal(3, stats.Received);
        Assert.Equal(2, stats.Retried);
        Assert.Equal(1, stats.Acknowledged);
        Assert.Equal(0, stats.DeadLettered);
        Assert.Equal(0, await transport.GetDeadLetterQueue(Endpoint, Endpoint).CountAsync());
    }

    [Fact]
    public async Task A_handler_that_always_fails_is_dead_lettered_with_the_exception_type_the_attempts_and_the_original_body()
    {
        int calls = 0;
        InMemoryTransport transport = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.UseTransport(transport);
            FastRetries(b, maxAttempts: 2);
            b.Handle<TcCharge, string>(c =>
            {
                Interlocked.Increment(ref calls);
                throw new InvalidOperationException("card declined");
            });
        });

        HandlerFailedException error = await Assert.ThrowsAsync<HandlerFailedException>(
            async () => await bus.ExecuteAsync(new TcCharge("o-2", 250), new ExecuteOptions { Timeout = Patience }));

        Assert.Equal(typeof(InvalidOperationException).FullName, error.RemoteExceptionType);
        Assert.Contains("card declined", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, calls);
        DeadLetterMessage entry = Assert.Single(await transport.GetDeadLetterQueue(Endpoint, Endpoint).ListAsync());
        Assert.Equal(typeof(InvalidOperationException).FullName, entry.Reason.ExceptionType);
        Assert.Equal(2, entry.Reason.Attempts);
        Assert.Contains("card declined", entry.Reason.Reason, StringComparison.Ordinal);
        Assert.Contains("card declined", entry.Reason.ExceptionDetails, StringComparison.Ordinal);
        Assert.Equal(Endpoint, entry.ConsumerGroup);
        Assert.Equal(typeof(TcCharge).FullName, entry.Message.GetHeader(MessageHeaders.MessageType));
        Assert.Equal(new TcCharge("o-2", 250), JsonSerializer.Deserialize<TcCharge>(entry.Message.Body.Span, JsonSerializerOptions.Web));
        Assert.Equal(1, Transport(bus).DeadLettered);
        Assert.Equal(1, Transport(bus).Retried);
    }

    [Fact]
    public async Task An_event_whose_handler_always_fails_is_dead_lettered_after_its_attempts()
    {
        int calls = 0;
        SignallingTransport transport = new();
        IMessageBus bus = MessageBus.Create(b =>
        {
            b.UseTransport(transport);
            FastRetries(b, maxAttempts: 3);
            b.Handle<TcNotify>(_ => { });
            b.Handle<TcNotify>(n =>
            {
                Interlocked.Increment(ref calls);
                throw new ArgumentException("bad address");
            });
        });

        Assert.Null(await bus.ExecuteAsync(new TcNotify("o-3"), new ExecuteOptions { Wait = false }));
        await transport.DeadLettered.WaitAsync(Patience);
        await bus.ShutdownAsync(Patience);

        DeadLetterMessage entry = Assert.Single(await transport.GetDeadLetterQueue(Endpoint, Endpoint).ListAsync());
        Assert.Equal(typeof(ArgumentException).FullName, entry.Reason.ExceptionType);
        Assert.Equal(3, entry.Reason.Attempts);
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task A_dead_lettered_message_replayed_after_the_fix_is_handled()
    {
        bool broken = true;
        TaskCompletionSource<string> handled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        SignallingTransport transport = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.UseTransport(transport);
            FastRetries(b, maxAttempts: 1);
            b.Handle<TcNotify>(n =>
            {
                if (Volatile.Read(ref broken))
                {
                    throw new InvalidOperationException("not yet");
                }

                handled.TrySetResult(n.OrderId);
            });
        });
        IDeadLetterQueue dlq = transport.GetDeadLetterQueue(Endpoint, Endpoint);
        await bus.ExecuteAsync(new TcNotify("o-4"), new ExecuteOptions { Wait = false });
        await transport.DeadLettered.WaitAsync(Patience);
        Assert.Equal(1, await dlq.CountAsync());

        Volatile.Write(ref broken, false);
        Assert.Equal(1, await dlq.ReplayAllAsync());

        Assert.Equal("o-4", await handled.Task.WaitAsync(Patience));
        Assert.Equal(0, await dlq.CountAsync());
    }

    [Fact]
    public async Task ExecuteAsync_without_waiting_returns_null_before_the_worker_handles_the_message()
    {
        TaskCompletionSource release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource<string> handled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<TcNotify>(async (n, ct) =>
        {
            await release.Task;
            handled.TrySetResult(n.OrderId);
        }));

        Assert.Null(await bus.ExecuteAsync(new TcNotify("o-5"), new ExecuteOptions { Wait = false }).AsTask().WaitAsync(Patience));
        Assert.False(handled.Task.IsCompleted);

        release.SetResult();
        Assert.Equal("o-5", await handled.Task.WaitAsync(Patience));
    }

    public static TheoryData<string, string?, string, string> BadInput => new()
    {
        { "unknown type", "nobody.knows.this.type", "{}", "Unknown message type 'nobody.knows.this.type'" },
        { "no type header", null, "{}", "has no 'ce-type' header" },
        { "malformed body", typeof(TcCharge).FullName!, "{ this is not json", "Malformed body for 'Switchboard.Tests.Transport.TcCharge'" },
        { "null body", typeof(TcCharge).FullName!, "null", "is null" },
        { "assembly-qualified name of a real type", typeof(FileInfo).AssemblyQualifiedName!, "{}", "Unknown message type" },
    };

    [Theory]
    [MemberData(nameof(BadInput))]
    public async Task Bad_input_is_dead_lettered_with_the_reason_without_retries_and_the_consumer_goes_on(string what, string? type, string body, string reason)
    {
        InMemoryTransport transport = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.UseTransport(transport);
            b.Options.ConsumerConcurrency = 1;
            b.Handle<TcCharge, string>(c => "charged " + c.OrderId);
        });

        await transport.SendAsync(Raw(type, body), CancellationToken.None);
        object? next = await bus.ExecuteAsync(new TcCharge("o-6", 1), new ExecuteOptions { Timeout = Patience });

        Assert.Equal("charged o-6", next);
        DeadLetterMessage entry = Assert.Single(await transport.GetDeadLetterQueue(Endpoint, Endpoint).ListAsync());
        Assert.True(entry.Reason.Reason.Contains(reason, StringComparison.Ordinal), $"{what}: the reason was '{entry.Reason.Reason}'");
        Assert.Null(entry.Reason.ExceptionType);
        Assert.Equal(1, entry.Reason.Attempts);
        Assert.Equal(body, Encoding.UTF8.GetString(entry.Message.Body.Span));
        Assert.Equal(0, Transport(bus).Retried);
        Assert.Equal(1, Transport(bus).DeadLettered);
    }

    [Fact]
    public async Task A_received_message_over_MaxMessageBytes_is_dead_lettered_and_the_consumer_goes_on()
    {
        InMemoryTransport transport = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.UseTransport(transport);
            b.Options.ConsumerConcurrency = 1;
            b.Options.MaxMessageBytes = 256;
            b.Handle<TcCharge, string>(c => "charged " + c.OrderId);
        });

        string huge = JsonSerializer.Serialize(new TcCharge(new string('x', 1000), 1), JsonSerializerOptions.Web);
        await transport.SendAsync(Raw(typeof(TcCharge).FullName, huge), CancellationToken.None);
        Assert.Equal("charged o-7", await bus.ExecuteAsync(new TcCharge("o-7", 1), new ExecuteOptions { Timeout = Patience }));

        DeadLetterMessage entry = Assert.Single(await transport.GetDeadLetterQueue(Endpoint, Endpoint).ListAsync());
        Assert.Contains("the limit is 256 bytes", entry.Reason.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_of_a_message_over_MaxMessageBytes_throws_MessageTooLargeException_and_sends_nothing()
    {
        int calls = 0;
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.MaxMessageBytes = 128;
            b.Handle<TcBlob, int>(blob =>
            {
                Interlocked.Increment(ref calls);
                return blob.Data.Length;
            });
        });

        MessageTooLargeException error = await Assert.ThrowsAsync<MessageTooLargeException>(
            async () => await bus.ExecuteAsync(new TcBlob(new string('x', 500)), new ExecuteOptions { Timeout = Patience }));

        Assert.Contains("128", error.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(TcBlob), error.Message, StringComparison.Ordinal);
        Assert.Equal(0, Transport(bus).Sent);
        Assert.Equal(10, await bus.ExecuteAsync(new TcBlob(new string('x', 10)), new ExecuteOptions { Timeout = Patience }));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Correlation_id_given_to_ExecuteAsync_reaches_the_worker_handler()
    {
        TaskCompletionSource<string> correlation = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<TcCharge, string>((c, context, ct) =>
        {
            correlation.TrySetResult(context.CorrelationId);
            return ValueTask.FromResult("ok");
        }));

        await bus.ExecuteAsync(new TcCharge("o-8", 1), new ExecuteOptions { CorrelationId = "exec-corr", Timeout = Patience });

        Assert.Equal("exec-corr", await correlation.Task.WaitAsync(Patience));
    }

    [Fact]
    public async Task Messages_cascaded_by_a_worker_handler_carry_its_correlation_id_and_its_message_id_as_causation()
    {
        TaskCompletionSource<(string MessageId, string CorrelationId)> parent = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource<(string CorrelationId, string? CausationId)> child = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<TcCharge, string>(async (c, context, ct) =>
            {
                parent.TrySetResult((context.MessageId, context.CorrelationId));
                await context.PublishAsync(new TcNotify(c.OrderId), ct);
                return "ok";
            });
            b.Handle<TcNotify>((n, context, ct) =>
            {
                child.TrySetResult((context.CorrelationId, context.CausationId));
                return default;
            });
        });

        await bus.ExecuteAsync(new TcCharge("o-9", 1), new ExecuteOptions { CorrelationId = "exec-corr-2", Timeout = Patience });

        (string messageId, string correlationId) = await parent.Task.WaitAsync(Patience);
        (string childCorrelation, string? causation) = await child.Task.WaitAsync(Patience);
        Assert.Equal("exec-corr-2", correlationId);
        Assert.Equal("exec-corr-2", childCorrelation);
        Assert.Equal(messageId, causation);
    }

    /// <summary>An in-memory transport that reports when a message was dead-lettered, so that tests wait on it instead of polling.</summary>
    private sealed class SignallingTransport : ITransport
    {
        private readonly InMemoryTransport _inner = new();
        private readonly TaskCompletionSource _deadLettered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task DeadLettered => _deadLettered.Task;

        public string Name => _inner.Name;

        public TransportCapabilities Capabilities => _inner.Capabilities;

        public ValueTask SendAsync(TransportMessage message, CancellationToken cancellationToken) => _inner.SendAsync(message, cancellationToken);

        public async ValueTask<ITransportReceiver> CreateReceiverAsync(ReceiverOptions options, CancellationToken cancellationToken)
            => new Receiver(await _inner.CreateReceiverAsync(options, cancellationToken), _deadLettered);

        public IDeadLetterQueue GetDeadLetterQueue(string destination, string consumerGroup) => _inner.GetDeadLetterQueue(destination, consumerGroup);

        public ValueTask DisposeAsync() => _inner.DisposeAsync();

        private sealed class Receiver(ITransportReceiver inner, TaskCompletionSource deadLettered) : ITransportReceiver
        {
            public async ValueTask<ReceivedMessage> ReceiveAsync(CancellationToken cancellationToken)
                => new Received(await inner.ReceiveAsync(cancellationToken), deadLettered);

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }

        private sealed class Received(ReceivedMessage inner, TaskCompletionSource deadLettered) : ReceivedMessage(inner.Message, inner.DeliveryCount)
        {
            public override ValueTask AckAsync(CancellationToken cancellationToken) => inner.AckAsync(cancellationToken);

            public override ValueTask RetryAsync(TimeSpan delay, CancellationToken cancellationToken) => inner.RetryAsync(delay, cancellationToken);

            public override async ValueTask DeadLetterAsync(DeadLetterReason reason, CancellationToken cancellationToken)
            {
                await inner.DeadLetterAsync(reason, cancellationToken);
                deadLettered.TrySetResult();
            }
        }
    }
}
