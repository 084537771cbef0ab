using System.Collections.Concurrent;
using System.Reflection;
using System.Reflection.Emit;

namespace Switchboard.Tests.Dispatch;

// Item 2 of issue 2: every delegate shape of BusBuilder, class handlers (one class for several types), handler
// instances, assembly scanning, and the registrations the builder refuses.
public sealed class HandlerRegistrationTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    public sealed record Note(string Text);

    public sealed record Square(int Value) : IRequest<int>;

    public sealed record Describe(int Value) : IRequest<string>;

    /// <summary>A message that carries where its class handlers report, so that the handlers need no static state.</summary>
    public sealed record StockChanged(string Sku, ConcurrentQueue<object> Seen);

    public sealed record CheckStock(string Sku, ConcurrentQueue<object> Seen) : IRequest<int>;

    public sealed record Restocked(string Sku, ConcurrentQueue<object> Seen);

    public sealed record Scanned(ConcurrentQueue<string> Seen);

    public sealed record ScannedQuery(int Value) : IRequest<int>;

    /// <summary>One class, three message types: two events and a request.</summary>
    public sealed class InventoryHandler : IHandler<StockChanged>, IHandler<Restocked>, IHandler<CheckStock, int>
    {
        public ValueTask HandleAsync(StockChanged message, MessageContext context, CancellationToken cancellationToken)
        {
            Assert.Same(message, context.Message);
            message.Seen.Enqueue(this);
            return default;
        }

        public async ValueTask HandleAsync(Restocked message, MessageContext context, CancellationToken cancellationToken)
        {
            await Task.Yield();
            message.Seen.Enqueue(this);
        }

        public ValueTask<int> HandleAsync(CheckStock message, MessageContext context, CancellationToken cancellationToken)
        {
            message.Seen.Enqueue(this);
            return new ValueTask<int>(message.Sku.Length);
        }
    }

    public sealed class CountingNoteHandler : IHandler<Note>
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public ValueTask HandleAsync(Note message, MessageContext context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _count);
            return default;
        }
    }

    public abstract class AbstractNoteHandler : IHandler<Note>
    {
        public abstract ValueTask HandleAsync(Note message, MessageContext context, CancellationToken cancellationToken);
    }

    public sealed class HandlesNothing
    {
    }

    public sealed class OpenGenericHandler<T> : IHandler<T>
    {
        public ValueTask HandleAsync(T message, MessageContext context, CancellationToken cancellationToken) => default;
    }

    /// <summary>
    /// A handler with a dependency and no parameterless constructor. Generic so that it is not a concrete type of this
    /// assembly: scanning the test assembly never meets it; the tests close it explicitly.
    /// </summary>
    public sealed class NeedsDependencyHandler<TDependency> : IHandler<Note>
    {
        public NeedsDependencyHandler(TDependency dependency)
        {
            Dependency = dependency;
        }

        public TDependency Dependency { get; }

        public ValueTask HandleAsync(Note message, MessageContext context, CancellationToken cancellationToken) => default;
    }

    /// <summary>The base of the handler types emitted into a scanned assembly; abstract, so scanning this assembly skips it.</summary>
    public abstract class ScannedHandlerBase : IHandler<Scanned>
    {
        public ValueTask HandleAsync(Scanned message, MessageContext context, CancellationToken cancellationToken)
        {
            message.Seen.Enqueue(GetType().Name);
            return default;
        }
    }

    public abstract class ScannedQueryHandlerBase : IHandler<ScannedQuery, int>
    {
        public ValueTask<int> HandleAsync(ScannedQuery message, MessageContext context, CancellationToken cancellationToken)
            => new(message.Value + 1);
    }

    [Fact]
    public async Task Handle_Action_ReceivesTheEvent()
    {
        List<Note> seen = [];
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Note>(n => seen.Add(n)));
        Note note = new("a");

        await bus.PublishAsync(note);

        Assert.Same(note, Assert.Single(seen));
    }

    [Fact]
    public async Task Handle_FuncOfValueTask_IsAwaitedBeforePublishCompletes()
    {
        TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        List<string> seen = [];
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Note>(async n =>
        {
            await gate.Task;
            seen.Add(n.Text);
        }));

        ValueTask publishing = bus.PublishAsync(new Note("b"));
        Assert.False(publishing.IsCompleted);
        gate.SetResult();
        await publishing.AsTask().WaitAsync(Patience);

        Assert.Equal(["b"], seen);
    }

    [Fact]
    public async Task Handle_FuncWithToken_IsAwaitedAndReceivesTheCallersToken()
    {
        using CancellationTokenSource cts = new();
        TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        CancellationToken received = default;
        bool finished = false;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Note>(async (n, ct) =>
        {
            received = ct;
            await gate.Task;
            finished = true;
        }));

        ValueTask publishing = bus.PublishAsync(new Note("c"), cancellationToken: cts.Token);
        Assert.False(publishing.IsCompleted);
        gate.SetResult();
        await publishing.AsTask().WaitAsync(Patience);

        Assert.True(finished);
        Assert.Equal(cts.Token, received);
    }

    [Fact]
    public async Task Handle_FuncWithContext_ReceivesTheMessagesContext()
    {
        MessageContext? seenContext = null;
        object? seenMessage = null;
        string? messageId = null;
        int attempt = 0;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Note>((n, context, ct) =>
        {
            seenContext = context;
            seenMessage = context.Message;
            messageId = context.MessageId;
            attempt = context.Attempt;
            return default;
        }));
        Note note = new("d");

        await bus.PublishAsync(note);

        Assert.NotNull(seenContext);
        Assert.Same(note, seenMessage);
        Assert.False(string.IsNullOrEmpty(messageId));
        Assert.Equal(1, attempt);
    }

    [Fact]
    public async Task Handle_FuncWithResult_AnswersTheRequest()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Square, int>(q => q.Value * q.Value));

        Assert.Equal(49, await bus.RequestAsync(new Square(7)));
    }

    [Fact]
    public async Task Handle_AsyncFuncWithResult_AnswersTheRequestOnceItCompletes()
    {
        TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        CancellationToken received = default;
        using CancellationTokenSource cts = new();
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Square, int>(async (q, ct) =>
        {
            received = ct;
            await gate.Task;
            return q.Value * q.Value;
        }));

        ValueTask<int> requesting = bus.RequestAsync(new Square(8), cancellationToken: cts.Token);
        Assert.False(requesting.IsCompleted);
        gate.SetResult();

        Assert.Equal(64, await requesting.AsTask().WaitAsync(Patience));
        Assert.Equal(cts.Token, received);
    }

    [Fact]
    public async Task Handle_ContextFuncWithResult_AnswersTheRequestWithAContext()
    {
        object? seenMessage = null;
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<Describe, string>(async (q, context, ct) =>
        {
            await Task.Yield();
            seenMessage = context.Message;
            return $"value {q.Value}";
        }));
        Describe request = new(3);

        Assert.Equal("value 3", await bus.RequestAsync(request));
        Assert.Same(request, seenMessage);
    }

    [Fact]
    public async Task AddHandler_OneClassForSeveralTypes_HandlesEachWithOneInstance()
    {
        ConcurrentQueue<object> seen = new();
        await using IMessageBus bus = MessageBus.Create(b => b.AddHandler<InventoryHandler>());

        await bus.PublishAsync(new StockChanged("sku-1", seen));
        await bus.PublishAsync(new Restocked("sku-1", seen));
        int stock = await bus.RequestAsync(new CheckStock("sku-12", seen));

        Assert.Equal(6, stock);
        Assert.Equal(3, seen.Count);
        object first = seen.First();
        Assert.IsType<InventoryHandler>(first);
        Assert.All(seen, instance => Assert.Same(first, instance));
    }

    [Fact]
    public async Task AddHandler_ByType_RegistersTheClass()
    {
        ConcurrentQueue<object> seen = new();
        await using IMessageBus bus = MessageBus.Create(b => b.AddHandler(typeof(InventoryHandler)));

        await bus.PublishAsync(new StockChanged("sku-2", seen));

        Assert.IsType<InventoryHandler>(Assert.Single(seen));
    }

    [Fact]
    public async Task AddHandler_SameClassTwice_RegistersItOnce()
    {
        ConcurrentQueue<object> seen = new();
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.AddHandler<InventoryHandler>();
            b.AddHandler(typeof(InventoryHandler));
        });

        await bus.PublishAsync(new StockChanged("sku-3", seen));

        Assert.Single(seen);
        Assert.Equal(7, await bus.RequestAsync(new CheckStock("sku-3!!", seen)));
    }

    [Fact]
    public async Task AddHandler_Instance_ServesEveryMessageWithThatInstance()
    {
        CountingNoteHandler instance = new();
        await using IMessageBus bus = MessageBus.Create(b => b.AddHandler(instance));

        await bus.PublishAsync(new Note("1"));
        await bus.PublishAsync(new Note("2"));
        await bus.SendAsync(new Note("3"));

        Assert.Equal(3, instance.Count);
    }

    [Fact]
    public async Task AddHandlersFromAssembly_RegistersEveryConcreteHandlerAndSkipsTheRest()
    {
        Assembly assembly = EmitScannedAssembly();
        ConcurrentQueue<string> seen = new();
        await using IMessageBus bus = MessageBus.Create(b => b.AddHandlersFromAssembly(assembly));

        await bus.PublishAsync(new Scanned(seen));

        Assert.Equal(["FirstScannedHandler", "SecondScannedHandler"], seen.Order());
        Assert.Equal(42, await bus.RequestAsync(new ScannedQuery(41)));
    }

    [Fact]
    public void AddHandler_AbstractClass_ThrowsArgumentException()
    {
        ArgumentException error = Assert.Throws<ArgumentException>(() => MessageBus.Create(b => b.AddHandler<AbstractNoteHandler>()));

        Assert.Contains(nameof(AbstractNoteHandler), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddHandler_ClassThatImplementsNoHandlerInterface_ThrowsArgumentException()
    {
        ArgumentException error = Assert.Throws<ArgumentException>(() => MessageBus.Create(b => b.AddHandler<HandlesNothing>()));

        Assert.Contains(nameof(HandlesNothing), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddHandler_InstanceThatHandlesNothing_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => MessageBus.Create(b => b.AddHandler(new HandlesNothing())));
    }

    [Theory]
    [InlineData(typeof(IHandler<Note>))]
    [InlineData(typeof(OpenGenericHandler<>))]
    [InlineData(typeof(string))]
    [InlineData(typeof(Note))]
    public void AddHandler_TypeThatIsNotAConcreteHandlerClass_ThrowsArgumentException(Type type)
    {
        Assert.Throws<ArgumentException>(() => MessageBus.Create(b => b.AddHandler(type)));
    }

    [Fact]
    public void AddHandler_ClassWithoutParameterlessConstructor_OnAStandaloneBus_ThrowsBusConfigurationException()
    {
        BusConfigurationException error = Assert.Throws<BusConfigurationException>(
            () => MessageBus.Create(b => b.AddHandler<NeedsDependencyHandler<string>>()));

        Assert.Contains("parameterless constructor", error.Message, StringComparison.Ordinal);
        Assert.Contains("AddHandler(instance)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddHandler_InstanceOfAClassWithoutParameterlessConstructor_IsAccepted()
    {
        NeedsDependencyHandler<string> instance = new("dependency");
        await using IMessageBus bus = MessageBus.Create(b => b.AddHandler(instance));

        await bus.SendAsync(new Note("x"));
    }

    /// <summary>
    /// Emits an assembly holding two concrete handlers, a request handler, an abstract handler, a class that handles
    /// nothing, and a handler without a public parameterless constructor that is abstract (so skipped).
    /// </summary>
    private static Assembly EmitScannedAssembly()
    {
        AssemblyBuilder assembly = AssemblyBuilder.DefineDynamicAssembly(new AssemblyName("Switchboard.Tests.Scanned." + Guid.NewGuid().ToString("N")), AssemblyBuilderAccess.Run);
        ModuleBuilder module = assembly.DefineDynamicModule("Scanned");

        Define(module, "FirstScannedHandler", typeof(ScannedHandlerBase), TypeAttributes.Public | TypeAttributes.Sealed);
        Define(module, "SecondScannedHandler", typeof(ScannedHandlerBase), TypeAttributes.NotPublic | TypeAttributes.Sealed);
        Define(module, "AbstractScannedHandler", typeof(ScannedHandlerBase), TypeAttributes.Public | TypeAttributes.Abstract);
        Define(module, "ScannedQueryHandler", typeof(ScannedQueryHandlerBase), TypeAttributes.Public | TypeAttributes.Sealed);
        Define(module, "NotAHandler", typeof(object), TypeAttributes.Public | TypeAttributes.Sealed);
        return assembly;

        static void Define(ModuleBuilder module, string name, Type parent, TypeAttributes attributes)
        {
            TypeBuilder type = module.DefineType(name, attributes | TypeAttributes.Class, parent);
            type.DefineDefaultConstructor(MethodAttributes.Public);
            type.CreateType();
        }
    }
}
