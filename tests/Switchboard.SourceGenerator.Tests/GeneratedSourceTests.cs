using Microsoft.CodeAnalysis;

namespace Switchboard.SourceGenerator.Tests;

/// <summary>What the generator writes and reports, compared with reviewed snapshots; the output must also compile.</summary>
public sealed class GeneratedSourceTests
{
    private const string Application = """
        using System.Text.Json.Serialization;
        using Switchboard;

        namespace Shop;

        public sealed record OrderCreated(string OrderId, long AmountCents);
        public sealed record PlaceOrder(string OrderId) : IRequest<OrderPlaced>;
        public sealed record OrderPlaced(string OrderId, string Status);
        public interface IAuditable { }

        public interface IClock { DateTimeOffset Now { get; } }

        /// Never reads its context: runs on the fast path.
        public sealed class CountOrders : IHandler<OrderCreated>
        {
            public int Count;
            public ValueTask HandleAsync(OrderCreated message, MessageContext context, CancellationToken cancellationToken)
            {
                Count++;
                return default;
            }
        }

        /// Reads its context, and handles two types.
        internal sealed class PlaceOrderHandler : IHandler<PlaceOrder, OrderPlaced>, IHandler<IAuditable>
        {
            public ValueTask<OrderPlaced> HandleAsync(PlaceOrder message, MessageContext context, CancellationToken cancellationToken)
                => new(new OrderPlaced(message.OrderId, context.MessageId));

            public ValueTask HandleAsync(IAuditable message, MessageContext context, CancellationToken cancellationToken) => default;
        }

        /// Needs a service: only dependency injection can create it.
        public sealed class StampOrders(IClock clock) : IHandler<OrderCreated>
        {
            public ValueTask HandleAsync(OrderCreated message, MessageContext context, CancellationToken cancellationToken)
                => clock.Now == default ? throw new InvalidOperationException() : default;
        }

        /// Both: parameterless on a standalone bus, the service constructor with a container.
        public sealed class MaybeClocked : IHandler<OrderPlaced>
        {
            public MaybeClocked() { }
            public MaybeClocked(IClock clock) { }
            public ValueTask HandleAsync(OrderPlaced message, MessageContext context, CancellationToken cancellationToken) => default;
        }

        /// Abstract: skipped without a word.
        public abstract class HandlerBase : IHandler<OrderCreated>
        {
            public abstract ValueTask HandleAsync(OrderCreated message, MessageContext context, CancellationToken cancellationToken);
        }

        [JsonSerializable(typeof(OrderCreated))]
        [JsonSerializable(typeof(PlaceOrder))]
        [JsonSerializable(typeof(OrderPlaced))]
        internal sealed partial class ShopJson : JsonSerializerContext;
        """;

    [Fact]
    public void Application_WithHandlersAndJsonContext_MatchesSnapshotAndCompiles()
    {
        GeneratorHarness.Run run = GeneratorHarness.Generate(Application);

        Assert.Empty(run.GeneratorDiagnostics);
        GeneratorHarness.MatchSnapshot("Application", run.Generated);

        // The JSON context's constructor and Default come from System.Text.Json's own generator, which this harness does not run.
        Assert.Empty(run.CompilationErrors.Where(e => e.Id is not ("CS7036" or "CS0117" or "CS0534")));
    }

    [Fact]
    public void Application_WithoutHandlers_WritesAnEmptyRegistration()
    {
        GeneratorHarness.Run run = GeneratorHarness.Generate("namespace Empty; public sealed class Nothing { }");

        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.CompilationErrors);
        GeneratorHarness.MatchSnapshot("Empty", run.Generated);
    }

    [Fact]
    public void RequestWithTwoHandlers_ReportsSwb001OnEach()
    {
        GeneratorHarness.Run run = GeneratorHarness.Generate("""
            using Switchboard;
            public sealed record Ask(int N) : IRequest<int>;
            public sealed class First : IHandler<Ask, int> { public ValueTask<int> HandleAsync(Ask m, MessageContext c, CancellationToken ct) => new(1); }
            public sealed class Second : IHandler<Ask, int> { public ValueTask<int> HandleAsync(Ask m, MessageContext c, CancellationToken ct) => new(2); }
            """);

        Diagnostic[] errors = [.. run.GeneratorDiagnostics.Where(d => d.Id == "SWB001")];
        Assert.Equal(2, errors.Length);
        Assert.All(errors, e => Assert.Equal(DiagnosticSeverity.Error, e.Severity));
        Assert.Contains("Ask has 2 handlers (First, Second)", errors[0].GetMessage(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }

    [Fact]
    public void CommandWithResultAndTwoHandlers_ReportsSwb001()
    {
        GeneratorHarness.Run run = GeneratorHarness.Generate("""
            using Switchboard;
            public sealed record Calc(int N);
            public sealed class First : IHandler<Calc, int> { public ValueTask<int> HandleAsync(Calc m, MessageContext c, CancellationToken ct) => new(1); }
            public sealed class Second : IHandler<Calc> { public ValueTask HandleAsync(Calc m, MessageContext c, CancellationToken ct) => default; }
            """);

        Assert.Equal(2, run.GeneratorDiagnostics.Count(d => d.Id == "SWB001"));
    }

    [Fact]
    public void EventWithTwoHandlers_IsFine()
    {
        GeneratorHarness.Run run = GeneratorHarness.Generate("""
            using Switchboard;
            public sealed record Happened(int N);
            public sealed class First : IHandler<Happened> { public ValueTask HandleAsync(Happened m, MessageContext c, CancellationToken ct) => default; }
            public sealed class Second : IHandler<Happened> { public ValueTask HandleAsync(Happened m, MessageContext c, CancellationToken ct) => default; }
            """);

        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.CompilationErrors);
    }

    [Fact]
    public void HandlerWithoutAccessibleConstructor_ReportsSwb002AndIsNotRegistered()
    {
        GeneratorHarness.Run run = GeneratorHarness.Generate("""
            using Switchboard;
            public sealed record Happened(int N);
            public sealed class Locked : IHandler<Happened>
            {
                private Locked() { }
                public ValueTask HandleAsync(Happened m, MessageContext c, CancellationToken ct) => default;
            }
            """);

        Diagnostic error = Assert.Single(run.GeneratorDiagnostics);
        Assert.Equal("SWB002", error.Id);
        Assert.Equal(DiagnosticSeverity.Error, error.Severity);
        Assert.Contains("Locked cannot be constructed: it has no public or internal constructor", error.GetMessage(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        Assert.DoesNotContain("Locked", run.Generated, StringComparison.Ordinal);
        Assert.Empty(run.CompilationErrors);
    }

    [Fact]
    public void MessageThatJsonCannotRead_ReportsSwb003()
    {
        GeneratorHarness.Run run = GeneratorHarness.Generate("""
            using Switchboard;
            public sealed class Sealed { private Sealed() { } public static Sealed Make() => new(); }
            public sealed class Twice { public Twice(int a) { } public Twice(string b) { } }
            public sealed class WithCallback { public Action? Callback { get; set; } }
            public sealed class H1 : IHandler<Sealed> { public ValueTask HandleAsync(Sealed m, MessageContext c, CancellationToken ct) => default; }
            public sealed class H2 : IHandler<Twice> { public ValueTask HandleAsync(Twice m, MessageContext c, CancellationToken ct) => default; }
            public sealed class H3 : IHandler<WithCallback> { public ValueTask HandleAsync(WithCallback m, MessageContext c, CancellationToken ct) => default; }
            """);

        string[] messages = [.. run.GeneratorDiagnostics.Where(d => d.Id == "SWB003").Select(d => d.GetMessage(System.Globalization.CultureInfo.InvariantCulture))];
        Assert.Equal(3, messages.Length);
        Assert.Contains(messages, m => m.Contains("Sealed cannot be read by System.Text.Json: it has no public constructor", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("Twice cannot be read by System.Text.Json: it has 2 public constructors", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("its property Callback is a delegate", StringComparison.Ordinal));
        Assert.All(run.GeneratorDiagnostics, d => Assert.Equal(DiagnosticSeverity.Warning, d.Severity));
    }

    [Fact]
    public void MessageMissingFromJsonContext_ReportsSwb004()
    {
        GeneratorHarness.Run run = GeneratorHarness.Generate("""
            using System.Text.Json.Serialization;
            using Switchboard;
            public sealed record Covered(int N);
            public sealed record Forgotten(int N);
            public sealed class H : IHandler<Covered>, IHandler<Forgotten>
            {
                public ValueTask HandleAsync(Covered m, MessageContext c, CancellationToken ct) => default;
                public ValueTask HandleAsync(Forgotten m, MessageContext c, CancellationToken ct) => default;
            }
            [JsonSerializable(typeof(Covered))]
            internal sealed partial class AppJson : JsonSerializerContext;
            """);

        Diagnostic warning = Assert.Single(run.GeneratorDiagnostics);
        Assert.Equal("SWB004", warning.Id);
        Assert.Contains("Forgotten is not in AppJson", warning.GetMessage(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        Assert.Contains("builder.UseJsonTypeInfoResolver(global::AppJson.Default);", run.Generated, StringComparison.Ordinal);
    }

    [Fact]
    public void PrivateNestedOrGenericHandler_ReportsSwb005()
    {
        GeneratorHarness.Run run = GeneratorHarness.Generate("""
            using Switchboard;
            public sealed record Happened(int N);
            public sealed class Outer
            {
                private sealed class Hidden : IHandler<Happened> { public ValueTask HandleAsync(Happened m, MessageContext c, CancellationToken ct) => default; }
            }
            public sealed class Open<T> : IHandler<Happened> { public ValueTask HandleAsync(Happened m, MessageContext c, CancellationToken ct) => default; }
            """);

        Assert.Equal(2, run.GeneratorDiagnostics.Count(d => d.Id == "SWB005"));
        Assert.DoesNotContain("Hidden", run.Generated, StringComparison.Ordinal);
        Assert.Empty(run.CompilationErrors);
    }

    [Fact]
    public void RequestAnsweredWithAnotherType_ReportsSwb006()
    {
        GeneratorHarness.Run run = GeneratorHarness.Generate("""
            using Switchboard;
            public sealed record Ask(int N) : IRequest<int>;
            public sealed class Wrong : IHandler<Ask, long> { public ValueTask<long> HandleAsync(Ask m, MessageContext c, CancellationToken ct) => new(1L); }
            """);

        Diagnostic error = Assert.Single(run.GeneratorDiagnostics);
        Assert.Equal("SWB006", error.Id);
        Assert.Contains("Ask implements IRequest<int>, but its handler Wrong returns long", error.GetMessage(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }

    [Fact]
    public void ContextUse_IsDetectedPerHandlerMethod()
    {
        GeneratorHarness.Run run = GeneratorHarness.Generate("""
            using Switchboard;
            public sealed record A(int N);
            public sealed record B(int N);
            public sealed class Both : IHandler<A>, IHandler<B>
            {
                public ValueTask HandleAsync(A m, MessageContext context, CancellationToken ct) => default;
                public ValueTask HandleAsync(B m, MessageContext context, CancellationToken ct) => Forward(context);
                private static ValueTask Forward(MessageContext c) => default;
            }
            """);

        Assert.Contains("AddCompiledHandler<global::Both, global::A>(static _ => new global::Both(), global::Switchboard.CompiledHandlerFlags.None);", run.Generated, StringComparison.Ordinal);
        Assert.Contains("AddCompiledHandler<global::Both, global::B>(static _ => new global::Both(), global::Switchboard.CompiledHandlerFlags.UsesContext);", run.Generated, StringComparison.Ordinal);
    }
}
