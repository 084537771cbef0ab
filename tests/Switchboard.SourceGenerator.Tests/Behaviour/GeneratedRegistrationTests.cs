using Microsoft.Extensions.DependencyInjection;

namespace Switchboard.SourceGenerator.Tests.Behaviour;

/// <summary>A bus whose handlers were registered by the generated AddGeneratedHandlers() of this assembly.</summary>
public sealed class GeneratedRegistrationTests
{
    [Fact]
    public async Task Publish_ReachesEveryGeneratedHandlerOfTheType_AndTheCascade()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.AddGeneratedHandlers());

        await bus.PublishAsync(new GenPing("p1"));

        Assert.Equal(["count:p1", "cascade:p1", "cascaded:p1"], Seen.For("p1").Order(new ByHandler()));
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal(2, stats.EventsPublished);
        Assert.Equal(3, stats.HandlersInvoked);
    }

    [Fact]
    public async Task Publish_ToThreeGeneratedHandlers_RunsThemInOrder_ThroughAHandlerThatCompletesLaterAndAFailure()
    {
        // On a standalone bus the three handlers run fused (one call while they complete synchronously).
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Options.HandlerErrors = HandlerErrorMode.Throw;
            b.AddGeneratedHandlers();
        });

        await bus.PublishAsync(new GenFanout("fan1", "ok,ok,ok"));
        TaskCompletionSource gate = Fanout.Gate("fan2");
        ValueTask publish = bus.PublishAsync(new GenFanout("fan2", "ok,later,throw"));
        bool completedBeforeTheGate = publish.IsCompleted;
        string[] beforeTheGate = Seen.For("fan2");
        gate.SetResult();
        AggregateException error = await Assert.ThrowsAsync<AggregateException>(async () => await publish);

        Assert.Equal(["fanout1:fan1", "fanout2:fan1", "fanout3:fan1"], Seen.For("fan1"));
        Assert.False(completedBeforeTheGate);
        Assert.Equal(["fanout1:fan2", "fanout2:fan2"], beforeTheGate);
        Assert.Equal(["fanout1:fan2", "fanout2:fan2", "fanout3:fan2"], Seen.For("fan2"));
        Assert.Equal("fanout3 refused fan2", Assert.Single(error.InnerExceptions).Message);
        BusStatistics stats = bus.GetStatistics();
        Assert.Equal((2, 6, 1), (stats.EventsPublished, stats.HandlersInvoked, stats.HandlerErrors));
    }

    [Fact]
    public async Task Request_IsAnsweredByTheGeneratedHandler_WithItsContext()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.AddGeneratedHandlers());

        GenAnswer answer = await bus.RequestAsync(new GenQuestion(21));

        Assert.Equal(42, answer.Value);
        Assert.False(string.IsNullOrEmpty(answer.MessageId));
    }

    [Fact]
    public async Task Send_OnAStandaloneBus_UsesTheParameterlessConstructor_AndTheHandlersExceptionReachesTheCaller()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.AddGeneratedHandlers());

        await bus.SendAsync(new GenCommand("s1"));
        InvalidOperationException error = await Assert.ThrowsAsync<InvalidOperationException>(() => bus.SendAsync(new GenCommand("fail-s2")).AsTask());

        Assert.Equal(["no clock:s1"], Seen.For("s1"));
        Assert.Equal("refused fail-s2", error.Message);
        Assert.Equal(1, bus.GetStatistics().HandlerErrors);
    }

    [Fact]
    public async Task AddGeneratedHandlers_Twice_RegistersEachHandlerOnce()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.AddGeneratedHandlers().AddGeneratedHandlers());

        await bus.PublishAsync(new GenPing("twice"));

        Assert.Single(Seen.For("twice"), e => e.StartsWith("count:", StringComparison.Ordinal));
        Assert.Single(Seen.For("twice"), e => e.StartsWith("cascade:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GeneratedAndRuntimeRegistrations_RunSideBySide()
    {
        List<string> delegateSaw = [];
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.AddGeneratedHandlers();
            b.Handle<GenPing>(p => delegateSaw.Add(p.Id));
        });

        await bus.PublishAsync(new GenPing("mixed"));

        Assert.Equal(["mixed"], delegateSaw);
        Assert.Contains("count:mixed", Seen.For("mixed"));
    }

    [Fact]
    public async Task ExecuteAsync_RoundTripsThroughTheSerializer_WithTheGeneratedJsonMetadata()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.AddGeneratedHandlers());

        object? result = await bus.ExecuteAsync(new GenQuestion(5), new ExecuteOptions { Wait = true, Timeout = TimeSpan.FromSeconds(10) });

        GenAnswer answer = Assert.IsType<GenAnswer>(result);
        Assert.Equal(10, answer.Value);
    }

    [Fact]
    public void MessageTypes_IsTheCompileTimeAllowList()
    {
        Assert.Equal(
            new[] { typeof(GenAnswer), typeof(GenCascade), typeof(GenCommand), typeof(GenFanout), typeof(GenPing), typeof(GenQuestion) },
            SwitchboardGeneratedHandlers.MessageTypes);
    }

    [Fact]
    public void HandlerThatNeedsServices_OnAStandaloneBus_IsRefusedWhenTheBusIsBuilt()
    {
        BusConfigurationException error = Assert.Throws<BusConfigurationException>(() => MessageBus.Create(b =>
            b.AddCompiledHandler<StampingCommandHandler, GenCommand>(static services => new StampingCommandHandler(services.GetRequiredService<IGenClock>()), CompiledHandlerFlags.NeedsServices)));

        Assert.Contains("StampingCommandHandler has no parameterless constructor", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithDependencyInjection_HandlersComeFromTheScope_WithTheirServices()
    {
        ServiceCollection services = new();
        services.AddSingleton<IGenClock>(new FixedClock("di"));
        services.AddSwitchboard(_ => { }).AddGeneratedHandlers();
        Assert.Contains(services, d => d.ServiceType == typeof(StampingCommandHandler) && d.Lifetime == ServiceLifetime.Scoped);
        await using ServiceProvider provider = services.BuildServiceProvider();
        IMessageBus bus = provider.GetRequiredService<IMessageBus>();

        await bus.SendAsync(new GenCommand("d1"));
        GenAnswer answer = await bus.RequestAsync(new GenQuestion(4));

        Assert.Equal(["di:d1"], Seen.For("d1"));
        Assert.Equal(8, answer.Value);
    }

    [Fact]
    public async Task WithAContainerButNoScopedRegistration_TheGeneratedConstructorCallResolvesTheServices()
    {
        ServiceCollection services = new();
        services.AddSingleton<IGenClock>(new FixedClock("ctor"));
        services.AddSwitchboard(b => b.AddGeneratedHandlers());
        await using ServiceProvider provider = services.BuildServiceProvider();
        IMessageBus bus = provider.GetRequiredService<IMessageBus>();

        await bus.SendAsync(new GenCommand("d2"));

        Assert.Equal(["ctor:d2"], Seen.For("d2"));
    }

    private sealed class FixedClock(string stamp) : IGenClock
    {
        public string Stamp => stamp;
    }

    private sealed class ByHandler : IComparer<string>
    {
        private static readonly string[] Order = ["count", "cascade", "cascaded"];

        public int Compare(string? x, string? y) => Rank(x).CompareTo(Rank(y));

        private static int Rank(string? entry) => entry is null ? -1 : Array.IndexOf(Order, entry[..entry.IndexOf(':', StringComparison.Ordinal)]);
    }
}
