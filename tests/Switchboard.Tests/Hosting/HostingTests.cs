using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Switchboard.Hosting;
using Switchboard.Tests.ScannedHandlers;

namespace Switchboard.Tests.Hosting;

public sealed record HostPing(string Id);
public sealed record HostQuestion(int N) : IRequest<int>;

/// <summary>A scoped dependency: one per DI scope, disposed with it.</summary>
public sealed class PerMessageDependency : IDisposable
{
    public Guid Id { get; } = Guid.NewGuid();

    public bool Disposed { get; private set; }

    public void Dispose() => Disposed = true;
}

public sealed record HandlerSighting(string Handler, string MessageId, object HandlerInstance, PerMessageDependency Injected, PerMessageDependency FromContext);

public sealed class Sightings
{
    public ConcurrentQueue<HandlerSighting> All { get; } = new();
}

public sealed class FirstScopedHandler(PerMessageDependency dependency, Sightings sightings) : IHandler<HostPing>
{
    public ValueTask HandleAsync(HostPing message, MessageContext context, CancellationToken cancellationToken)
    {
        sightings.All.Enqueue(new("first", message.Id, this, dependency, context.Services!.GetRequiredService<PerMessageDependency>()));
        return default;
    }
}

public sealed class SecondScopedHandler(PerMessageDependency dependency, Sightings sightings) : IHandler<HostPing>
{
    public ValueTask HandleAsync(HostPing message, MessageContext context, CancellationToken cancellationToken)
    {
        sightings.All.Enqueue(new("second", message.Id, this, dependency, context.Services!.GetRequiredService<PerMessageDependency>()));
        return default;
    }
}

public sealed class ScopedQuestionHandler(PerMessageDependency dependency, Sightings sightings) : IHandler<HostQuestion, int>
{
    public ValueTask<int> HandleAsync(HostQuestion message, MessageContext context, CancellationToken cancellationToken)
    {
        sightings.All.Enqueue(new("question", message.N.ToString(System.Globalization.CultureInfo.InvariantCulture), this, dependency, context.Services!.GetRequiredService<PerMessageDependency>()));
        return ValueTask.FromResult(message.N);
    }
}

public sealed class HostingTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    private static HostApplicationBuilder NewHostBuilder()
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        return builder;
    }

    [Fact]
    public async Task With_a_host_IMessageBus_resolves_as_one_singleton_and_delivers_to_handlers()
    {
        List<string> handled = [];
        HostApplicationBuilder builder = NewHostBuilder();
        builder.Services.AddSwitchboard(b =>
        {
            b.Handle<HostPing>(p => handled.Add(p.Id));
            b.Handle<HostQuestion, int>(q => q.N + 1);
        });
        using IHost host = builder.Build();
        await host.StartAsync();

        IMessageBus bus = host.Services.GetRequiredService<IMessageBus>();
        Assert.Same(bus, host.Services.GetRequiredService<IMessageBus>());
        await bus.PublishAsync(new HostPing("1"));
        Assert.Equal(["1"], handled);
        Assert.Equal(3, await bus.RequestAsync(new HostQuestion(2)));
        Assert.Equal(5, await bus.ExecuteAsync(new HostQuestion(4), new ExecuteOptions { Timeout = Patience }));

        await host.StopAsync();
    }

    [Fact]
    public async Task With_a_plain_service_collection_IMessageBus_resolves_and_works()
    {
        ServiceCollection services = new();
        services.AddSwitchboard(b => b.Handle<HostQuestion, int>(q => q.N * 2));
        await using ServiceProvider provider = services.BuildServiceProvider();

        IMessageBus bus = provider.GetRequiredService<IMessageBus>();

        Assert.Same(bus, provider.GetRequiredService<IMessageBus>());
        Assert.Equal(8, await bus.RequestAsync(new HostQuestion(4)));
        Assert.Equal(10, await bus.ExecuteAsync(new HostQuestion(5), new ExecuteOptions { Timeout = Patience }));
    }

    [Fact]
    public async Task Configuration_actions_see_the_application_service_provider_with_AddSwitchboard_and_none_standalone()
    {
        IServiceProvider? seen = null;
        ServiceCollection services = new();
        services.AddSingleton(new HostQuestion(21));
        services.AddSwitchboard(b =>
        {
            seen = b.Services;
            HostQuestion configured = b.Services!.GetRequiredService<HostQuestion>();
            b.Handle<HostPing>(_ => { });
            Assert.Equal(21, configured.N);
        });
        await using ServiceProvider provider = services.BuildServiceProvider();

        _ = provider.GetRequiredService<IMessageBus>();

        Assert.NotNull(seen); // the root scope of this provider
        IServiceProvider? standalone = new ServiceCollection().BuildServiceProvider();
        await using IMessageBus bus = MessageBus.Create(b => standalone = b.Services);
        Assert.Null(standalone);
    }

    [Fact]
    public async Task Class_handlers_are_resolved_per_message_from_a_new_scope_shared_by_the_handlers_of_one_message_and_disposed_after_it()
    {
        ServiceCollection services = new();
        services.AddScoped<PerMessageDependency>();
        services.AddSingleton<Sightings>();
        services.AddSwitchboard(b => b.AddHandler<FirstScopedHandler>().AddHandler<SecondScopedHandler>());
        await using ServiceProvider provider = services.BuildServiceProvider();
        IMessageBus bus = provider.GetRequiredService<IMessageBus>();
        Sightings sightings = provider.GetRequiredService<Sightings>();

        await bus.PublishAsync(new HostPing("m1"));
        HandlerSighting[] first = [.. sightings.All];
        Assert.All(first, s => Assert.True(s.Injected.Disposed, "the message's scope is disposed once the message was handled"));
        await bus.PublishAsync(new HostPing("m2"));

        HandlerSighting[] all = [.. sightings.All];
        Assert.Equal(4, all.Length);
        HandlerSighting[] m1 = [.. all.Where(s => s.MessageId == "m1")];
        HandlerSighting[] m2 = [.. all.Where(s => s.MessageId == "m2")];
        Assert.Equal(["first", "second"], m1.Select(s => s.Handler));
        Assert.Same(m1[0].Injected, m1[1].Injected);
        Assert.Same(m2[0].Injected, m2[1].Injected);
        Assert.NotSame(m1[0].Injected, m2[0].Injected);
        Assert.NotSame(m1[0].HandlerInstance, m2[0].HandlerInstance);
        Assert.All(all, s => Assert.Same(s.Injected, s.FromContext));
        Assert.All(all, s => Assert.True(s.Injected.Disposed));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_request_class_handler_gets_a_scope_per_request_locally_and_on_the_transport_worker(bool execute)
    {
        ServiceCollection services = new();
        services.AddScoped<PerMessageDependency>();
        services.AddSingleton<Sightings>();
        services.AddSwitchboard(b => b.AddHandler<ScopedQuestionHandler>());
        await using ServiceProvider provider = services.BuildServiceProvider();
        IMessageBus bus = provider.GetRequiredService<IMessageBus>();

        for (int n = 1; n <= 2; n++)
        {
            object? result = execute
                ? await bus.ExecuteAsync(new HostQuestion(n), new ExecuteOptions { Timeout = Patience })
                : await bus.RequestAsync(new HostQuestion(n));
            Assert.Equal(n, result);
        }

        HandlerSighting[] all = [.. provider.GetRequiredService<Sightings>().All];
        Assert.Equal(2, all.Length);
        Assert.NotSame(all[0].Injected, all[1].Injected);
        Assert.All(all, s => Assert.Same(s.Injected, s.FromContext));
        Assert.All(all, s => Assert.True(s.Injected.Disposed));
    }

    [Fact]
    public async Task MessageContext_Services_is_the_message_scope_for_delegate_handlers_too()
    {
        ConcurrentQueue<(PerMessageDependency First, PerMessageDependency Again)> seen = new();
        ServiceCollection services = new();
        services.AddScoped<PerMessageDependency>();
        services.AddSwitchboard(b => b.Handle<HostPing>((p, context, ct) =>
        {
            Assert.NotNull(context.Services);
            seen.Enqueue((context.Services.GetRequiredService<PerMessageDependency>(), context.Services.GetRequiredService<PerMessageDependency>()));
            return default;
        }));
        await using ServiceProvider provider = services.BuildServiceProvider();
        IMessageBus bus = provider.GetRequiredService<IMessageBus>();

        await bus.PublishAsync(new HostPing("1"));
        await bus.PublishAsync(new HostPing("2"));

        (PerMessageDependency First, PerMessageDependency Again)[] both = [.. seen];
        Assert.Equal(2, both.Length);
        Assert.Same(both[0].First, both[0].Again);
        Assert.NotSame(both[0].First, both[1].First);
        Assert.True(both[0].First.Disposed);
        Assert.True(both[1].First.Disposed);
    }

    [Fact]
    public async Task AddHandlersFromAssembly_on_the_returned_builder_registers_every_concrete_handler_as_a_scoped_service_and_on_the_bus()
    {
        ServiceCollection services = new();
        services.AddSingleton<ScanLog>();
        ISwitchboardBuilder switchboard = services.AddSwitchboard(_ => { });
        Assert.Same(services, switchboard.Services);

        switchboard.AddHandlersFromAssembly(typeof(ScannedPing).Assembly);

        Assert.Contains(services, d => d.ServiceType == typeof(ScannedPingHandler) && d.Lifetime == ServiceLifetime.Scoped);
        Assert.Contains(services, d => d.ServiceType == typeof(ScannedQuestionHandler) && d.Lifetime == ServiceLifetime.Scoped);
        Assert.DoesNotContain(services, d => d.ServiceType == typeof(NotAHandler) || d.ServiceType == typeof(AbstractPingHandler));
        await using ServiceProvider provider = services.BuildServiceProvider();
        IMessageBus bus = provider.GetRequiredService<IMessageBus>();
        await bus.PublishAsync(new ScannedPing("p1"));
        Assert.Equal(["ping p1"], provider.GetRequiredService<ScanLog>().Entries);
        Assert.Equal(6, await bus.RequestAsync(new ScannedQuestion(2)));
    }

    [Fact]
    public async Task Configure_on_the_returned_builder_adds_to_the_bus_configuration()
    {
        List<string> handled = [];
        ServiceCollection services = new();
        services.AddSwitchboard(b => b.Options.Name = "first")
            .Configure(b => b.Handle<HostPing>(p => handled.Add(p.Id)))
            .Configure(b => b.Options.Name = "configured");
        await using ServiceProvider provider = services.BuildServiceProvider();
        IMessageBus bus = provider.GetRequiredService<IMessageBus>();

        await bus.PublishAsync(new HostPing("1"));

        Assert.Equal("configured", bus.Name);
        Assert.Equal(["1"], handled);
    }

    [Fact]
    public async Task Calling_AddSwitchboard_twice_adds_to_the_same_bus()
    {
        List<string> handled = [];
        HostApplicationBuilder builder = NewHostBuilder();
        builder.Services.AddSwitchboard(b => b.Handle<HostPing>(p => handled.Add("first " + p.Id)));
        builder.Services.AddSwitchboard(b =>
        {
            b.Options.Name = "orders";
            b.Handle<HostPing>(p => handled.Add("second " + p.Id));
        });

        Assert.Single(builder.Services, d => d.ServiceType == typeof(IMessageBus));
        Assert.Single(builder.Services, d => d.ServiceType == typeof(IHostedService));
        using IHost host = builder.Build();
        await host.StartAsync();
        IMessageBus bus = host.Services.GetRequiredService<IMessageBus>();
        await bus.PublishAsync(new HostPing("1"));
        await host.StopAsync();

        Assert.Equal("orders", bus.Name);
        Assert.Equal(["first 1", "second 1"], handled);
    }

    [Fact]
    public async Task Invalid_options_stop_the_host_from_starting_with_a_BusConfigurationException()
    {
        HostApplicationBuilder builder = NewHostBuilder();
        builder.Services.AddSwitchboard(b => b.Options.BackgroundConcurrency = 0);
        using IHost host = builder.Build();

        BusConfigurationException error = await Assert.ThrowsAsync<BusConfigurationException>(() => host.StartAsync());
        Assert.Contains("BackgroundConcurrency", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_request_handlers_for_one_request_stop_the_host_from_starting()
    {
        HostApplicationBuilder builder = NewHostBuilder();
        builder.Services.AddSwitchboard(b => b.Handle<HostQuestion, int>(q => 1));
        builder.Services.AddSwitchboard(b => b.Handle<HostQuestion, int>(q => 2));
        using IHost host = builder.Build();

        await Assert.ThrowsAsync<BusConfigurationException>(() => host.StartAsync());
    }

    [Fact]
    public async Task Stopping_the_host_drains_in_flight_work_and_then_stops_the_bus()
    {
        TaskCompletionSource started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        int finished = 0;
        HostApplicationBuilder builder = NewHostBuilder();
        builder.Services.AddSwitchboard(b => b.Handle<HostPing>(async (p, ct) =>
        {
            started.TrySetResult();
            await release.Task;
            Interlocked.Increment(ref finished);
        }));
        using IHost host = builder.Build();
        await host.StartAsync();
        IMessageBus bus = host.Services.GetRequiredService<IMessageBus>();
        Task publish = bus.PublishAsync(new HostPing("slow")).AsTask();
        await started.Task.WaitAsync(Patience);

        Task stop = host.StopAsync();
        Assert.False(stop.IsCompleted, "the host must wait for the in-flight handler");
        release.SetResult();
        await stop.WaitAsync(Patience);

        Assert.Equal(1, finished);
        Assert.True(publish.IsCompletedSuccessfully);
        await Assert.ThrowsAsync<BusStoppedException>(async () => await bus.PublishAsync(new HostPing("late")));
    }

    [Fact]
    public async Task Stopping_the_host_waits_no_longer_than_the_bus_ShutdownTimeout()
    {
        TaskCompletionSource started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        HostApplicationBuilder builder = NewHostBuilder();
        builder.Services.AddSwitchboard(b =>
        {
            b.Options.ShutdownTimeout = TimeSpan.FromMilliseconds(200);
            b.Handle<HostPing>(async (p, ct) =>
            {
                started.TrySetResult();
                await release.Task;
            });
        });
        using IHost host = builder.Build();
        await host.StartAsync();
        IMessageBus bus = host.Services.GetRequiredService<IMessageBus>();
        Task publish = bus.PublishAsync(new HostPing("stuck")).AsTask();
        await started.Task.WaitAsync(Patience);

        try
        {
            await host.StopAsync().WaitAsync(Patience);
            Assert.False(publish.IsCompleted);
            ShutdownReport report = await bus.ShutdownAsync(Patience);
            Assert.False(report.Completed);
            Assert.True(report.InFlightAbandoned > 0);
        }
        finally
        {
            release.SetResult();
        }

        await publish.WaitAsync(Patience);
    }

    [Fact]
    public async Task The_bus_logs_through_the_container_logger_factory()
    {
        CapturingLoggerProvider captured = new();
        HostApplicationBuilder builder = NewHostBuilder();
        builder.Logging.AddProvider(captured);
        builder.Services.AddSwitchboard(b => b.Handle<HostPing>(_ => throw new InvalidOperationException("handler broke")));
        using IHost host = builder.Build();
        await host.StartAsync();

        await host.Services.GetRequiredService<IMessageBus>().PublishAsync(new HostPing("1"));
        await host.StopAsync();

        Assert.Contains(captured.Entries, e => e.Level == LogLevel.Error && e.Exception is InvalidOperationException { Message: "handler broke" });
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<(LogLevel Level, Exception? Exception)> _entries = new();

        public IReadOnlyList<(LogLevel Level, Exception? Exception)> Entries => [.. _entries];

        public ILogger CreateLogger(string categoryName) => new Logger(_entries);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<(LogLevel Level, Exception? Exception)> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
                => entries.Enqueue((logLevel, exception));
        }
    }
}
