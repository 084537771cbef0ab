using System.Collections.Concurrent;
using Switchboard.Transport;
using Switchboard.Transport.InMemory;

namespace Switchboard.Tests.Transport;

public sealed record Deposit(string Account, int Sequence);

public interface IHasCustomer
{
    string Customer { get; }
}

public sealed record CustomerNoted(string Customer, string Note) : IHasCustomer;

public sealed record InvoiceRaised(string Invoice, string Customer) : DomainEvent, IHasCustomer;

/// <summary><see cref="BusBuilder.PartitionBy{T}(Func{T, string?})"/>: the key a message carries to a transport, and the order kept per key.</summary>
public sealed class PartitionKeyTests
{
    [Fact]
    public async Task PartitionBy_KeysAPlainRecord_AndTheConsumerHandlesEachKeysMessagesInOrder()
    {
        const int perKey = 40;
        string[] accounts = ["a", "b", "c", "d"];
        ConcurrentDictionary<string, List<int>> seen = new();
        TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        int handled = 0;
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.ConsumerConcurrency = 4;
            b.PartitionBy<Deposit>(d => d.Account);
            b.Handle<Deposit>(async (d, ct) =>
            {
                // Uneven work: without one lane per key, later deposits of an account would overtake earlier ones.
                await Task.Delay((perKey - d.Sequence) % 3, ct);
                List<int> list = seen.GetOrAdd(d.Account, _ => []);
                lock (list)
                {
                    list.Add(d.Sequence);
                }

                if (Interlocked.Increment(ref handled) == accounts.Length * perKey)
                {
                    done.TrySetResult();
                }
            });
        });

        for (int i = 0; i < perKey; i++)
        {
            foreach (string account in accounts)
            {
                await bus.ExecuteAsync(new Deposit(account, i), new ExecuteOptions { Wait = false });
            }
        }

        await done.Task.WaitAsync(TimeSpan.FromSeconds(20));
        foreach (string account in accounts)
        {
            Assert.Equal(Enumerable.Range(0, perKey), seen[account]);
        }
    }

    [Fact]
    public async Task PartitionBy_SetsTheKeyOnTheWire_ForDerivedAndInterfaceTypes_AndWinsOverTheAggregateId()
    {
        KeyRecordingTransport transport = new();
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseTransport(transport)
            .PartitionBy<IHasCustomer>(m => m.Customer)
            .PartitionBy<Deposit>(d => d.Account.Length > 0 ? d.Account : null)
            .RouteToTransport<Deposit>("deposits")
            .RouteToTransport<CustomerNoted>("notes")
            .RouteToTransport<InvoiceRaised>("invoices")
            .RouteToTransport<AccountDebited>("debits"));

        await bus.PublishAsync(new Deposit("acc-1", 1));
        await bus.PublishAsync(new Deposit(string.Empty, 2));
        await bus.PublishAsync(new CustomerNoted("cust-7", "called"));
        await bus.PublishAsync(new InvoiceRaised("inv-1", "cust-8") { AggregateId = "inv-1" });
        await bus.PublishAsync(new AccountDebited("acc-2", 1) { AggregateId = "acc-2" });

        Assert.Equal(
            [("deposits", "acc-1"), ("deposits", null), ("notes", "cust-7"), ("invoices", "cust-8"), ("debits", "acc-2")],
            transport.Sent.Select(m => (m.Destination, m.PartitionKey)));
        Assert.Equal("cust-7", transport.Sent[2].GetHeader(MessageHeaders.PartitionKey));
    }

    [Fact]
    public void PartitionBy_WithoutASelector_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => MessageBus.Create(b => b.PartitionBy<Deposit>(null!)));
    }

    /// <summary>Records what the bus sends; receives nothing (these tests only send).</summary>
    private sealed class KeyRecordingTransport : ITransport
    {
        private readonly InMemoryTransport _inner = new();

        public List<TransportMessage> Sent { get; } = [];

        public string Name => _inner.Name;

        public TransportCapabilities Capabilities => _inner.Capabilities;

        public ValueTask SendAsync(TransportMessage message, CancellationToken cancellationToken)
        {
            lock (Sent)
            {
                Sent.Add(message);
            }

            return ValueTask.CompletedTask;
        }

        public ValueTask<ITransportReceiver> CreateReceiverAsync(ReceiverOptions options, CancellationToken cancellationToken)
            => _inner.CreateReceiverAsync(options, cancellationToken);

        public IDeadLetterQueue GetDeadLetterQueue(string destination, string consumerGroup) => _inner.GetDeadLetterQueue(destination, consumerGroup);

        public ValueTask DisposeAsync() => _inner.DisposeAsync();
    }
}
