using Switchboard.Operations;
using Switchboard.Transport;
using Switchboard.Transport.InMemory;

namespace Switchboard.Tests.Operations;

public sealed record OpsOrder(string Id);
public sealed record OpsRefund(string Id);

/// <summary>The overview read model of a bus: its sources, counts, last error, and what happens when a source cannot be read.</summary>
public sealed class OverviewTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task GetOperations_ListsTheBusQueueAndEveryRoutedDestinationItHandles_WithDeadLetterCountsAndTheLastError()
    {
        InMemoryTransport transport = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Configure(o => o.Name = "ops-bus");
            b.Options.Retry.MaxAttempts = 1;
            b.UseTransport(transport);
            b.RouteToTransport<OpsOrder>("orders");
            b.RouteToTransport<OpsRefund>("refunds");
            b.Handle<OpsOrder>(o => throw new InvalidOperationException($"card declined for {o.Id}; retry with password=hunter2"));
            b.Handle<OpsRefund>(_ => { });
        });

        await bus.PublishAsync(new OpsOrder("o-1"));
        SwitchboardOperations operations = bus.GetOperations();
        OperationsSource orders = operations.GetSource("inmemory/orders/ops-bus");
        await WaitForAsync(async () => await orders.DeadLetters.CountAsync() == 1);

        Assert.Equal(["inmemory/ops-bus/ops-bus", "inmemory/orders/ops-bus", "inmemory/refunds/ops-bus"], operations.Sources.Select(s => s.Id));
        IReadOnlyList<DestinationStatus> overview = await operations.GetOverviewAsync();
        DestinationStatus status = overview[1];
        Assert.Equal("orders", status.Destination);
        Assert.Equal("ops-bus", status.ConsumerGroup);
        Assert.Equal(1, status.DeadLetters);
        Assert.Equal(DestinationHealth.DeadLetters, status.Health);
        Assert.StartsWith("InvalidOperationException: card declined for o-1", status.Info.LastError, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", status.Info.LastError, StringComparison.Ordinal);
        Assert.NotNull(status.Info.LastErrorAt);
        Assert.Equal(DestinationHealth.Healthy, overview[2].Health);
        Assert.Null(overview[2].Info.Backlog); // the in-memory transport does not inspect: unknown, not zero
    }

    [Fact]
    public async Task GetOverview_ReportsASourceThatCannotBeRead_AsUnreachable_WithoutItsCredentials_AndReadsTheOthers()
    {
        await using InMemoryTransport transport = new();
        OperationsSource good = OperationsSource.ForTransport(transport, "orders", "g");
        OperationsSource broken = new("rabbitmq", "orders", "g", new ThrowingQueue());
        SwitchboardOperations operations = new([good, broken]);

        IReadOnlyList<DestinationStatus> overview = await operations.GetOverviewAsync();

        Assert.Equal(DestinationHealth.Healthy, overview[0].Health);
        Assert.Equal(0, overview[0].DeadLetters);
        Assert.Equal(DestinationHealth.Unreachable, overview[1].Health);
        Assert.Null(overview[1].DeadLetters);
        Assert.Contains("InvalidOperationException", overview[1].Error, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1", overview[1].Error, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", overview[1].Error, StringComparison.Ordinal);
        Assert.DoesNotContain("admin", overview[1].Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Sources_NeedUniqueIds_AndAnUnknownIdNamesTheKnownOnes()
    {
        InMemoryTransport transport = new();
        OperationsSource a = OperationsSource.ForTransport(transport, "orders", "g");
        Assert.Throws<ArgumentException>(() => new SwitchboardOperations([a, OperationsSource.ForTransport(transport, "orders", "g")]));
        KeyNotFoundException missing = Assert.Throws<KeyNotFoundException>(() => new SwitchboardOperations([a]).GetSource("x"));
        Assert.Contains("inmemory/orders/g", missing.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("connect amqp://admin:s3cret@127.0.0.1:5672/ failed", "connect amqp://***@127.0.0.1:5672/ failed")]
    [InlineData("Host=db;Username=app;Password=s3cret;Database=x", "Host=db;Username=***;Password=***;Database=x")]
    [InlineData("127.0.0.1:6399,password=s3cret,ssl=false", "127.0.0.1:6399,password=***,ssl=false")]
    [InlineData("nothing to hide", "nothing to hide")]
    public void Redaction_RemovesUserInfoAndPasswordPairs(string text, string expected)
        => Assert.Equal(expected, Redaction.Redact(text));

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        using CancellationTokenSource cts = new(Patience);
        while (!await condition())
        {
            await Task.Delay(10, cts.Token);
        }
    }

    private sealed class ThrowingQueue : IDeadLetterQueue
    {
        private static InvalidOperationException Error() => new("could not connect to amqp://admin:s3cret@127.0.0.1:5679/");

        public ValueTask<IReadOnlyList<DeadLetterMessage>> ListAsync(int count = 100, CancellationToken cancellationToken = default) => throw Error();

        public ValueTask<long> CountAsync(CancellationToken cancellationToken = default) => throw Error();

        public ValueTask<bool> ReplayAsync(string id, CancellationToken cancellationToken = default) => throw Error();

        public ValueTask<int> ReplayAllAsync(CancellationToken cancellationToken = default) => throw Error();

        public ValueTask<bool> DeleteAsync(string id, CancellationToken cancellationToken = default) => throw Error();
    }
}
