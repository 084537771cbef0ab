using System.Collections.Concurrent;

namespace Switchboard.Tests.Services;

public sealed record SvcWork(int N);

public sealed class BusServiceTests
{
    private sealed class WorkerService(IMessageBus bus) : BusService("worker", bus)
    {
        private int _handled;
        private int _topics;

        public bool FailStart { get; set; }

        public bool FailStop { get; set; }

        public ServiceStatus StatusDuringStart { get; private set; }

        public ServiceStatus StatusDuringStop { get; private set; }

        public EventStream<SvcWork>? WorkStream { get; private set; }

        public int Handled => Volatile.Read(ref _handled);

        public int Topics => Volatile.Read(ref _topics);

        protected override Task OnStartAsync(CancellationToken cancellationToken)
        {
            StatusDuringStart = Status;
            Subscribe<SvcWork>((w, ct) =>
            {
                Interlocked.Increment(ref _handled);
                return default;
            });
            Subscribe("work/#", (m, ct) =>
            {
                Interlocked.Increment(ref _topics);
                return default;
            });
            WorkStream = Stream<SvcWork>();
            if (FailStart)
            {
                throw new InvalidOperationException("cannot start");
            }

            return Task.CompletedTask;
        }

        protected override Task OnStopAsync(CancellationToken cancellationToken)
        {
            StatusDuringStop = Status;
            return FailStop ? throw new InvalidOperationException("cannot stop") : Task.CompletedTask;
        }
    }

    private static (IMessageBus Bus, ConcurrentQueue<ServiceStatusChanged> Changes) CreateBus()
    {
        IMessageBus bus = MessageBus.Create(_ => { });
        ConcurrentQueue<ServiceStatusChanged> changes = new();
        bus.Subscribe<ServiceStatusChanged>(changes.Enqueue);
        return (bus, changes);
    }

    [Fact]
    public async Task A_new_service_is_Created_with_no_subscriptions()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        WorkerService service = new(bus);

        Assert.Equal(ServiceStatus.Created, service.Status);
        Assert.Equal("worker", service.Name);
        Assert.Same(bus, service.Bus);
        Assert.Equal(0, service.SubscriptionCount);
        Assert.Null(service.Fault);
    }

    [Fact]
    public async Task Start_and_stop_go_through_Starting_Running_Stopping_Stopped_and_publish_each_change()
    {
        (IMessageBus bus, ConcurrentQueue<ServiceStatusChanged> changes) = CreateBus();
        await using IMessageBus _ = bus;
        WorkerService service = new(bus);

        await service.StartAsync();
        Assert.Equal(ServiceStatus.Running, service.Status);
        await service.StopAsync();
        Assert.Equal(ServiceStatus.Stopped, service.Status);

        Assert.Equal(ServiceStatus.Starting, service.StatusDuringStart);
        Assert.Equal(ServiceStatus.Stopping, service.StatusDuringStop);
        Assert.Equal(
            [
                new ServiceStatusChanged("worker", ServiceStatus.Created, ServiceStatus.Starting, null),
                new ServiceStatusChanged("worker", ServiceStatus.Starting, ServiceStatus.Running, null),
                new ServiceStatusChanged("worker", ServiceStatus.Running, ServiceStatus.Stopping, null),
                new ServiceStatusChanged("worker", ServiceStatus.Stopping, ServiceStatus.Stopped, null),
            ],
            changes);
    }

    [Fact]
    public async Task Subscriptions_and_streams_made_in_start_are_removed_on_stop()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        WorkerService service = new(bus);
        await service.StartAsync();

        Assert.Equal(3, service.SubscriptionCount);
        await bus.PublishAsync(new SvcWork(1));
        await bus.PublishAsync("work/done", new SvcWork(1));
        Assert.Equal(1, service.Handled);
        Assert.Equal(1, service.Topics);
        Assert.Equal(1, service.WorkStream!.Count);

        await service.StopAsync();

        Assert.Equal(0, service.SubscriptionCount);
        Assert.False(service.WorkStream.IsActive);
        await bus.PublishAsync(new SvcWork(2));
        await bus.PublishAsync("work/done", new SvcWork(2));
        Assert.Equal(1, service.Handled);
        Assert.Equal(1, service.Topics);
        Assert.Equal(1, service.WorkStream.Count);
    }

    [Fact]
    public async Task An_error_in_start_faults_the_service_removes_its_subscriptions_and_is_rethrown()
    {
        (IMessageBus bus, ConcurrentQueue<ServiceStatusChanged> changes) = CreateBus();
        await using IMessageBus _ = bus;
        WorkerService service = new(bus) { FailStart = true };

        InvalidOperationException error = await Assert.ThrowsAsync<InvalidOperationException>(() => service.StartAsync());

        Assert.Equal("cannot start", error.Message);
        Assert.Equal(ServiceStatus.Faulted, service.Status);
        Assert.Same(error, service.Fault);
        Assert.Equal(0, service.SubscriptionCount);
        Assert.False(service.WorkStream!.IsActive);
        await bus.PublishAsync(new SvcWork(1));
        Assert.Equal(0, service.Handled);
        Assert.Equal(
            new ServiceStatusChanged("worker", ServiceStatus.Starting, ServiceStatus.Faulted, "cannot start"),
            changes.Last());
    }

    [Fact]
    public async Task A_faulted_service_can_be_started_again()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        WorkerService service = new(bus) { FailStart = true };
        await Assert.ThrowsAsync<InvalidOperationException>(() => service.StartAsync());

        service.FailStart = false;
        await service.StartAsync();

        Assert.Equal(ServiceStatus.Running, service.Status);
        Assert.Null(service.Fault);
        await bus.PublishAsync(new SvcWork(1));
        Assert.Equal(1, service.Handled);
    }

    [Fact]
    public async Task A_stopped_service_can_be_restarted_and_subscribes_again()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        WorkerService service = new(bus);
        await service.StartAsync();
        await service.StopAsync();

        await service.StartAsync();

        Assert.Equal(ServiceStatus.Running, service.Status);
        Assert.Equal(3, service.SubscriptionCount);
        await bus.PublishAsync(new SvcWork(1));
        Assert.Equal(1, service.Handled);
        await service.StopAsync();
        Assert.Equal(0, service.SubscriptionCount);
    }

    [Fact]
    public async Task Starting_a_running_service_throws()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        WorkerService service = new(bus);
        await service.StartAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => service.StartAsync());
        Assert.Equal(3, service.SubscriptionCount);
    }

    [Fact]
    public async Task Stopping_a_service_that_is_not_running_does_nothing()
    {
        (IMessageBus bus, ConcurrentQueue<ServiceStatusChanged> changes) = CreateBus();
        await using IMessageBus _ = bus;
        WorkerService service = new(bus);

        await service.StopAsync();

        Assert.Equal(ServiceStatus.Created, service.Status);
        Assert.Empty(changes);
    }

    [Fact]
    public async Task An_error_in_stop_faults_the_service_and_still_removes_its_subscriptions()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        WorkerService service = new(bus) { FailStop = true };
        await service.StartAsync();

        await service.StopAsync();

        Assert.Equal(ServiceStatus.Faulted, service.Status);
        Assert.Equal("cannot stop", service.Fault?.Message);
        Assert.Equal(0, service.SubscriptionCount);
        await bus.PublishAsync(new SvcWork(1));
        Assert.Equal(0, service.Handled);
    }

    [Fact]
    public async Task Disposing_a_running_service_stops_it()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        WorkerService service = new(bus);
        await service.StartAsync();

        await service.DisposeAsync();

        Assert.Equal(ServiceStatus.Stopped, service.Status);
        Assert.Equal(0, service.SubscriptionCount);
    }

    [Fact]
    public async Task A_service_stops_cleanly_after_its_bus_was_shut_down()
    {
        IMessageBus bus = MessageBus.Create(_ => { });
        WorkerService service = new(bus);
        await service.StartAsync();
        await bus.ShutdownAsync(TimeSpan.FromSeconds(5));

        await service.StopAsync();

        Assert.Equal(ServiceStatus.Stopped, service.Status);
        Assert.Equal(0, service.SubscriptionCount);
    }

    [Fact]
    public async Task A_service_needs_a_name_and_a_bus()
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        Assert.ThrowsAny<ArgumentException>(() => new WorkerServiceWithName(" ", bus));
        Assert.Throws<ArgumentNullException>(() => new WorkerServiceWithName("x", null!));
    }

    private sealed class WorkerServiceWithName(string name, IMessageBus bus) : BusService(name, bus)
    {
        protected override Task OnStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
