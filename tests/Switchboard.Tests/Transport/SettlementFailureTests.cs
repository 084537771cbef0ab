using System.Collections.Concurrent;
using Switchboard.Transport;
using Switchboard.Transport.Conformance;
using Switchboard.Transport.InMemory;

namespace Switchboard.Tests.Transport;

public sealed record SfPing(string Id);

/// <summary>
/// What the consumer does when the broker does not take a settlement: an acknowledgement that fails after the handlers
/// succeeded is not a handler failure, and a retry the broker refused is not counted as scheduled.
/// </summary>
public sealed class SettlementFailureTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static TransportStatistics Stats(IMessageBus bus) => bus.GetStatistics().Transports["inmemory"];

    [Fact]
    public async Task Ack_that_fails_twice_then_succeeds_is_retried_in_place_without_spending_a_handler_attempt()
    {
        await using FaultyTransport transport = new(new InMemoryTransport()) { AckFailures = 2 };
        ConcurrentQueue<int> attempts = new();
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseTransport(transport)
            .RouteToTransport<SfPing>("pings")
            .Handle<SfPing>((SfPing _, MessageContext context, CancellationToken _) => { attempts.Enqueue(context.Attempt); return ValueTask.CompletedTask; }));

        await bus.PublishAsync(new SfPing("p-1"));
        await Eventually.TrueAsync(() => Stats(bus).Acknowledged == 1, Patience, () => $"{Stats(bus)}");

        Assert.Equal([1], attempts);
        Assert.Equal(3, Volatile.Read(ref transport.AckCalls));
        TransportStatistics stats = Stats(bus);
        Assert.Equal(0, stats.Retried);
        Assert.Equal(0, stats.DeadLettered);
        Assert.Equal(0, stats.AcknowledgementFailures);
        Assert.Equal(0, bus.GetStatistics().HandlerErrors);
    }

    [Fact]
    public async Task Ack_that_keeps_failing_is_counted_as_an_ack_failure_and_leaves_the_message_unsettled_never_retried_or_dead_lettered()
    {
        await using FaultyTransport transport = new(new InMemoryTransport()) { AckFailures = int.MaxValue };
        int handled = 0;
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseTransport(transport)
            .RouteToTransport<SfPing>("pings")
            .Handle<SfPing>(_ => Interlocked.Increment(ref handled)));

        await bus.PublishAsync(new SfPing("p-1"));
        await Eventually.TrueAsync(() => Stats(bus).AcknowledgementFailures == 1, Patience, () => $"{Stats(bus)}");

        Assert.Equal(1, Volatile.Read(ref handled));
        Assert.Equal(3, Volatile.Read(ref transport.AckCalls)); // bounded: the first try and two more
        TransportStatistics stats = Stats(bus);
        Assert.Equal(0, stats.Acknowledged);
        Assert.Equal(0, stats.Retried);
        Assert.Equal(0, stats.DeadLettered);
        Assert.Equal(0, Volatile.Read(ref transport.RetryCalls));
        Assert.Equal(0, Volatile.Read(ref transport.DeadLetterCalls));
    }

    [Fact]
    public async Task Retry_the_broker_refuses_is_not_counted_as_a_retry()
    {
        await using FaultyTransport transport = new(new InMemoryTransport()) { FailRetries = true };
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.UseTransport(transport).RouteToTransport<SfPing>("pings").Handle<SfPing>(_ => throw new InvalidOperationException("boom"));
            b.Options.Retry.InitialDelay = TimeSpan.Zero;
        });

        await bus.PublishAsync(new SfPing("p-1"));
        await Eventually.TrueAsync(() => Volatile.Read(ref transport.RetryCalls) >= 1, Patience);
        await bus.ShutdownAsync(Patience); // the consumer settled (or left) what it had

        Assert.Equal(0, Stats(bus).Retried);
        Assert.Equal(0, Stats(bus).DeadLettered);
    }

    [Fact]
    public async Task A_bus_that_only_publishes_starts_no_consumer_while_a_bus_with_handlers_does()
    {
        await using FaultyTransport transport = new(new InMemoryTransport());
        await using IMessageBus publisher = MessageBus.Create(b => b
            .Configure(o => o.Name = "web")
            .UseTransport(transport)
            .RouteToTransport<SfPing>("pings"));
        await ((Switchboard.Bus.SwitchboardBus)publisher).EnsureStartedAsync(CancellationToken.None);
        Assert.Empty(transport.Receivers);

        await using IMessageBus worker = MessageBus.Create(b => b
            .Configure(o => o.Name = "worker")
            .UseTransport(transport)
            .RouteToTransport<SfPing>("pings")
            .Handle<SfPing>(_ => { })
            .Handle<SfUnrouted>(_ => { }));
        await ((Switchboard.Bus.SwitchboardBus)worker).EnsureStartedAsync(CancellationToken.None);

        // The routed destination, and the worker's own queue because it handles a type routed nowhere (ExecuteAsync's target).
        Assert.Equal(["pings", "worker"], transport.Receivers.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_worker_handles_its_next_message_while_an_acknowledgement_is_on_its_way_and_stops_only_after_it_arrived()
    {
        TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using FaultyTransport transport = new(new InMemoryTransport()) { AckGate = gate };
        int handled = 0;
        await using IMessageBus bus = MessageBus.Create(b => b
            .Configure(o => o.ConsumerConcurrency = 1)
            .UseTransport(transport)
            .RouteToTransport<SfPing>("pings")
            .Handle<SfPing>(_ => Interlocked.Increment(ref handled)));

        // One worker, its first acknowledgement held by the broker: it handles the second message meanwhile.
        await bus.PublishAsync(new SfPing("p-1"));
        await bus.PublishAsync(new SfPing("p-2"));
        await Eventually.TrueAsync(() => Volatile.Read(ref handled) == 2, Patience, () => $"handled {Volatile.Read(ref handled)}, {Stats(bus)}");
        Assert.Equal(0, Stats(bus).Acknowledged);

        // Stopping waits for the acknowledgements on their way: the receiver is disposed only after both arrived.
        Task<ShutdownReport> shutdown = bus.ShutdownAsync(Patience).AsTask();
        await transport.ReceiveStopped.Task.WaitAsync(Patience);
        // Room for a stop that did not wait to finish first (then this test fails below); the release comes after it anyway.
        await Task.WhenAny(shutdown, Task.Delay(TimeSpan.FromMilliseconds(500)));
        Assert.False(shutdown.IsCompleted, "the bus stopped while acknowledgements were on their way");
        gate.SetResult();
        await shutdown.WaitAsync(Patience);

        Assert.Equal(2, Stats(bus).Acknowledged);
        Assert.Equal(["acked", "acked", "disposed"], transport.Events);
    }

    public sealed record SfUnrouted(string Id);

    /// <summary>A transport whose receivers' settlements fail on demand.</summary>
    private sealed class FaultyTransport(ITransport inner) : ITransport
    {
        public int AckCalls;
        public int RetryCalls;
        public int DeadLetterCalls;

        public int AckFailures { get; init; }

        public bool FailRetries { get; init; }

        /// <summary>When set, acknowledgements reach the broker only once it completes.</summary>
        public TaskCompletionSource? AckGate { get; init; }

        /// <summary>Completes when a receive was cancelled (the consumer is stopping).</summary>
        public TaskCompletionSource ReceiveStopped { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Acknowledgements that arrived and receivers disposed, in order.</summary>
        public ConcurrentQueue<string> Events { get; } = new();

        public ConcurrentQueue<string> Receivers { get; } = new();

        public string Name => inner.Name;

        public TransportCapabilities Capabilities => inner.Capabilities;

        public ValueTask SendAsync(TransportMessage message, CancellationToken cancellationToken) => inner.SendAsync(message, cancellationToken);

        public async ValueTask<ITransportReceiver> CreateReceiverAsync(ReceiverOptions options, CancellationToken cancellationToken)
        {
            Receivers.Enqueue(options.Destination);
            return new Receiver(this, await inner.CreateReceiverAsync(options, cancellationToken));
        }

        public IDeadLetterQueue GetDeadLetterQueue(string destination, string consumerGroup) => inner.GetDeadLetterQueue(destination, consumerGroup);

        public ValueTask DisposeAsync() => inner.DisposeAsync();

        private sealed class Receiver(FaultyTransport transport, ITransportReceiver inner) : ITransportReceiver
        {
            public async ValueTask<ReceivedMessage> ReceiveAsync(CancellationToken cancellationToken)
            {
                try
                {
                    return new Received(transport, await inner.ReceiveAsync(cancellationToken));
                }
                catch (OperationCanceledException)
                {
                    transport.ReceiveStopped.TrySetResult();
                    throw;
                }
            }

            public ValueTask DisposeAsync()
            {
                transport.Events.Enqueue("disposed");
                return inner.DisposeAsync();
            }
        }

        private sealed class Received(FaultyTransport transport, ReceivedMessage inner) : ReceivedMessage(inner.Message, inner.DeliveryCount)
        {
            public override ValueTask AckAsync(CancellationToken cancellationToken)
                => Interlocked.Increment(ref transport.AckCalls) <= transport.AckFailures
                    ? throw new IOException("connection reset by peer")
                    : transport.AckGate is { } gate ? AckLaterAsync(gate, cancellationToken) : inner.AckAsync(cancellationToken);

            private async ValueTask AckLaterAsync(TaskCompletionSource gate, CancellationToken cancellationToken)
            {
                await gate.Task.WaitAsync(cancellationToken);
                await inner.AckAsync(cancellationToken);
                transport.Events.Enqueue("acked");
            }

            public override ValueTask RetryAsync(TimeSpan delay, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref transport.RetryCalls);
                return transport.FailRetries ? throw new IOException("connection reset by peer") : inner.RetryAsync(delay, cancellationToken);
            }

            public override ValueTask DeadLetterAsync(DeadLetterReason reason, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref transport.DeadLetterCalls);
                return inner.DeadLetterAsync(reason, cancellationToken);
            }
        }
    }
}
