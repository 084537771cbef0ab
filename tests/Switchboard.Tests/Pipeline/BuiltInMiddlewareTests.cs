using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Switchboard.Transport;
using Switchboard.Transport.InMemory;

namespace Switchboard.Tests.Pipeline;

public sealed record PlTransfer(string Account, long Cents) : IRequest<string>;

public sealed class PlTransferValidator : IValidator<PlTransfer>
{
    public ValueTask<IReadOnlyList<string>> ValidateAsync(PlTransfer message, CancellationToken cancellationToken)
        => new(message.Account.Length == 0 ? ["Account is required."] : []);
}

public sealed class BuiltInMiddlewareTests
{
    [Fact]
    public async Task A_failing_validator_rejects_a_command_with_a_clear_exception_before_its_handler()
    {
        int handled = 0;
        await using IMessageBus bus = MessageBus.Create(b => b
            .AddValidator<PlTransfer>(t => t.Cents <= 0 ? ["Cents must be positive."] : [])
            .AddValidator(new PlTransferValidator())
            .Handle<PlTransfer, string>(t =>
            {
                Interlocked.Increment(ref handled);
                return "moved";
            }));

        MessageValidationException error = await Assert.ThrowsAsync<MessageValidationException>(async () => await bus.RequestAsync(new PlTransfer("", -5)));

        Assert.Equal("PlTransfer is not valid: Cents must be positive.; Account is required.", error.Message);
        Assert.Equal(["Cents must be positive.", "Account is required."], error.Errors);
        Assert.Equal(typeof(PlTransfer), error.MessageType);
        Assert.Equal(0, handled);
        Assert.Equal("moved", await bus.RequestAsync(new PlTransfer("acc-1", 5)));
    }

    [Fact]
    public async Task Validators_from_the_container_run_for_a_bus_registered_with_AddSwitchboard()
    {
        ServiceCollection services = new();
        services.AddSingleton<IValidator<PlTransfer>, PlTransferValidator>();
        services.AddSwitchboard(b => b.UseValidation().Handle<PlTransfer, string>(_ => "moved"));
        await using ServiceProvider provider = services.BuildServiceProvider();
        IMessageBus bus = provider.GetRequiredService<IMessageBus>();

        MessageValidationException error = await Assert.ThrowsAsync<MessageValidationException>(async () => await bus.RequestAsync(new PlTransfer("", 1)));
        Assert.Equal(["Account is required."], error.Errors);
        Assert.Equal("moved", await bus.RequestAsync(new PlTransfer("a", 1)));
    }

    [Fact]
    public async Task An_invalid_message_bound_for_a_transport_is_refused_before_it_leaves_and_a_received_one_is_dead_lettered_at_once()
    {
        InMemoryTransport transport = new();
        int handled = 0;

        // The sender validates: nothing invalid leaves it.
        await using IMessageBus sender = MessageBus.Create(b => b
            .Configure(o => o.Name = "pl-sender")
            .UseTransport(transport)
            .AddValidator<PlShip>(s => s.Id.Length == 0 ? ["Id is required."] : [])
            .RouteToTransport<PlShip>("pl-validated"));
        await Assert.ThrowsAsync<MessageValidationException>(async () => await sender.SendAsync(new PlShip("")));

        // A receiver whose validator is stricter than the sender: the message is dead-lettered with the reason, without retries.
        await using IMessageBus receiver = MessageBus.Create(b => b
            .Configure(o =>
            {
                o.Name = "pl-receiver";
                o.Retry.MaxAttempts = 5;
                o.Retry.InitialDelay = TimeSpan.FromMilliseconds(5);
            })
            .UseTransport(transport)
            .AddValidator<PlShip>(s => s.Id.StartsWith("x", StringComparison.Ordinal) ? ["Ids starting with x are retired."] : [])
            .RouteToTransport<PlShip>("pl-validated")
            .Handle<PlShip>(_ => Interlocked.Increment(ref handled)));
        // Getting the group's dead-letter queue creates the group if the receiver's consumer has not yet: the message is
        // queued for it either way (no need to wait for the consumer to join).
        IDeadLetterQueue dlq = transport.GetDeadLetterQueue("pl-validated", "pl-receiver");
        await sender.SendAsync(new PlShip("x-1"));

        DateTime until = DateTime.UtcNow.AddSeconds(5);
        while (await dlq.CountAsync() == 0 && DateTime.UtcNow < until)
        {
            await Task.Delay(10);
        }

        DeadLetterMessage dead = Assert.Single(await dlq.ListAsync());
        Assert.Equal(1, dead.Reason.Attempts);
        Assert.Equal(typeof(MessageValidationException).FullName, dead.Reason.ExceptionType);
        Assert.Contains("Ids starting with x are retired.", dead.Reason.Reason);
        Assert.Equal(0, handled);
    }

    [Fact]
    public async Task Message_logging_logs_each_handler_and_each_outgoing_message_with_its_time_and_failures_as_warnings()
    {
        ListLogger logs = new();
        await using IMessageBus bus = MessageBus.Create(b => b
            .UseLoggerFactory(new ListLoggerFactory(logs))
            .UseMessageLogging(LogLevel.Information)
            .Handle<PlShip>(s => { })
            .Handle<PlOrderPlaced>(_ => throw new InvalidOperationException("boom")));

        await bus.SendAsync(new PlShip("s-1"));
        await bus.PublishAsync(new PlOrderPlaced("o-1"));

        Assert.Contains(logs.Lines, l => l.Level == LogLevel.Information && l.Text.StartsWith("Handled PlShip ", StringComparison.Ordinal) && l.Text.Contains(" ms", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Level == LogLevel.Information && l.Text.StartsWith("Send PlShip ", StringComparison.Ordinal) && l.Text.Contains("to this process", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Level == LogLevel.Warning && l.Text.Contains("failed on PlOrderPlaced", StringComparison.Ordinal) && l.Exception is InvalidOperationException);
    }

    [Fact]
    public async Task A_bus_on_a_broker_without_a_name_takes_the_entry_assemblys_and_logs_it()
    {
        ListLogger logs = new();
        BusOptions options = new();
        BusNaming.NameForTransport(options, new DurableTransport(), "Orders.Api", new ListLoggerFactory(logs));

        Assert.Equal("Orders.Api", options.Name);
        Assert.Contains(logs.Lines, l => l.Level == LogLevel.Warning && l.Text.Contains("'Orders.Api'", StringComparison.Ordinal));

        BusOptions named = new() { Name = "billing" };
        BusNaming.NameForTransport(named, new DurableTransport(), "Orders.Api", new ListLoggerFactory(logs));
        Assert.Equal("billing", named.Name);

        BusOptions inMemory = new();
        BusNaming.NameForTransport(inMemory, new InMemoryTransport(), "Orders.Api", new ListLoggerFactory(logs));
        Assert.Equal("switchboard", inMemory.Name);

        BusConfigurationException error = Assert.Throws<BusConfigurationException>(() =>
            BusNaming.NameForTransport(new BusOptions(), new DurableTransport(), null, new ListLoggerFactory(logs)));
        Assert.Contains("consumer group", error.Message);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task A_bus_built_on_a_broker_without_a_name_uses_the_entry_assembly_as_its_consumer_group()
    {
        DurableTransport transport = new();
        await using IMessageBus bus = MessageBus.Create(b => b.UseTransport(transport).Handle<PlShip>(_ => { }));
        await ((Switchboard.Bus.SwitchboardBus)bus).EnsureStartedAsync(CancellationToken.None);

        string expected = System.Reflection.Assembly.GetEntryAssembly()!.GetName().Name!;
        Assert.Equal(expected, bus.Name);
        Assert.Contains(transport.Groups, g => g == expected);
    }

    [Fact]
    public async Task AddBusService_starts_the_service_with_the_host_and_stops_it_with_the_host()
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Services.AddSwitchboard(_ => { }).AddBusService<PlPingService>();
        using IHost host = builder.Build();
        PlPingService service = host.Services.GetRequiredService<PlPingService>();
        Assert.Equal(ServiceStatus.Created, service.Status);

        await host.StartAsync();
        Assert.Equal(ServiceStatus.Running, service.Status);
        await host.Services.GetRequiredService<IMessageBus>().PublishAsync(new PlOrderPlaced("o-1"));
        Assert.Equal(["o-1"], service.Seen);

        await host.StopAsync();
        Assert.Equal(ServiceStatus.Stopped, service.Status);
        Assert.Equal(0, service.SubscriptionCount);
    }

    [Fact]
    public async Task A_handler_created_per_message_outside_the_container_is_disposed_after_its_message()
    {
        PlDisposals disposals = new();
        ServiceCollection services = new();
        services.AddSingleton(disposals);
        services.AddSwitchboard(b => b.AddHandler<PlDisposableHandler>()); // the handler itself is not registered in the container
        await using ServiceProvider provider = services.BuildServiceProvider();
        IMessageBus bus = provider.GetRequiredService<IMessageBus>();

        await bus.SendAsync(new PlShip("s-1"));
        await bus.SendAsync(new PlShip("s-2"));

        Assert.Equal(2, disposals.Created);
        Assert.Equal(2, disposals.Disposed);
    }

    [Fact]
    public async Task Incoming_middleware_registered_in_the_container_is_resolved_per_message_from_its_scope()
    {
        ServiceCollection services = new();
        services.AddScoped<PlScopedCounter>();
        services.AddSwitchboard(b => b.Handle<PlShip>((s, context, ct) =>
        {
            context.Services!.GetRequiredService<PlScopedCounter>().Count++;
            return default;
        })).UseIncoming<PlScopedMiddleware>();
        await using ServiceProvider provider = services.BuildServiceProvider();
        IMessageBus bus = provider.GetRequiredService<IMessageBus>();

        await bus.SendAsync(new PlShip("s-1"));
        await bus.SendAsync(new PlShip("s-2"));

        Assert.Equal([1, 1], PlScopedMiddleware.CountsAfterHandler.ToArray()[^2..]);
    }

    [Fact]
    public void Switchboard_Testing_does_not_use_the_cores_internals()
    {
        string[] friends = [.. typeof(IMessageBus).Assembly
            .GetCustomAttributes(typeof(System.Runtime.CompilerServices.InternalsVisibleToAttribute), false)
            .Cast<System.Runtime.CompilerServices.InternalsVisibleToAttribute>()
            .Select(a => a.AssemblyName)];

        Assert.DoesNotContain("Switchboard.Testing", friends);
    }

    private sealed class DurableTransport : ITransport
    {
        private readonly InMemoryTransport _inner = new();

        public ConcurrentQueue<string> Groups { get; } = new();

        public string Name => "durable-test";

        public TransportCapabilities Capabilities => TransportCapabilities.Durable;

        public ValueTask SendAsync(TransportMessage message, CancellationToken cancellationToken) => _inner.SendAsync(message, cancellationToken);

        public ValueTask<ITransportReceiver> CreateReceiverAsync(ReceiverOptions options, CancellationToken cancellationToken)
        {
            Groups.Enqueue(options.ConsumerGroup);
            return _inner.CreateReceiverAsync(options, cancellationToken);
        }

        public IDeadLetterQueue GetDeadLetterQueue(string destination, string consumerGroup) => _inner.GetDeadLetterQueue(destination, consumerGroup);

        public ValueTask DisposeAsync() => _inner.DisposeAsync();
    }
}

public sealed class PlPingService(IMessageBus bus) : BusService("pings", bus)
{
    public ConcurrentQueue<string> Seen { get; } = new();

    protected override Task OnStartAsync(CancellationToken cancellationToken)
    {
        Subscribe<PlOrderPlaced>(e => Seen.Enqueue(e.Id));
        return Task.CompletedTask;
    }
}

public sealed class PlDisposals
{
    private int _created;
    private int _disposed;

    public int Created => Volatile.Read(ref _created);

    public int Disposed => Volatile.Read(ref _disposed);

    public void OnCreated() => Interlocked.Increment(ref _created);

    public void OnDisposed() => Interlocked.Increment(ref _disposed);
}

public sealed class PlDisposableHandler : IHandler<PlShip>, IDisposable
{
    private readonly PlDisposals _disposals;

    public PlDisposableHandler(PlDisposals disposals)
    {
        _disposals = disposals;
        disposals.OnCreated();
    }

    public ValueTask HandleAsync(PlShip message, MessageContext context, CancellationToken cancellationToken) => default;

    public void Dispose() => _disposals.OnDisposed();
}

public sealed class PlScopedCounter
{
    public int Count { get; set; }
}

public sealed class PlScopedMiddleware(PlScopedCounter counter) : IIncomingMiddleware
{
    public static readonly ConcurrentQueue<int> CountsAfterHandler = new();

    public async ValueTask InvokeAsync(IncomingContext context, IncomingNext next)
    {
        await next(context);
        CountsAfterHandler.Enqueue(counter.Count); // the handler's scope is this middleware's: it saw the same counter
    }
}

public sealed record ListLine(LogLevel Level, string Text, Exception? Exception);

public sealed class ListLogger : ILogger
{
    public ConcurrentQueue<ListLine> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => Lines.Enqueue(new ListLine(logLevel, formatter(state, exception), exception));
}

public sealed class ListLoggerFactory(ListLogger logger) : ILoggerFactory
{
    public void AddProvider(ILoggerProvider provider)
    {
    }

    public ILogger CreateLogger(string categoryName) => logger;

    public void Dispose()
    {
    }
}
