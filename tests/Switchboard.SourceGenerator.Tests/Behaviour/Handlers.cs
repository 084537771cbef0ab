using System.Collections.Concurrent;
using System.Text.Json.Serialization;

namespace Switchboard.SourceGenerator.Tests.Behaviour;

// The handlers of this test assembly: the generator writes AddGeneratedHandlers() for exactly these.

public sealed record GenPing(string Id);

public sealed record GenQuestion(int N) : IRequest<GenAnswer>;

public sealed record GenAnswer(int Value, string? MessageId);

public sealed record GenCommand(string Id);

public sealed record GenCascade(string Id);

/// <summary>An event with three handlers that never read their context: on a standalone bus they run fused.</summary>
/// <param name="Id">The test's id.</param>
/// <param name="Steps">What each handler does, in order, comma-separated: <c>ok</c>, <c>throw</c> or <c>later</c>.</param>
public sealed record GenFanout(string Id, string Steps);

/// <summary>What the handlers saw, per test (each test uses its own ids).</summary>
public static class Seen
{
    public static ConcurrentQueue<string> Log { get; } = new();

    public static string[] For(string id) => [.. Log.Where(e => e.EndsWith(":" + id, StringComparison.Ordinal))];
}

/// <summary>Never reads its context: the generator marks it so, and it runs on the fast path.</summary>
public sealed class CountingPingHandler : IHandler<GenPing>
{
    public ValueTask HandleAsync(GenPing message, MessageContext context, CancellationToken cancellationToken)
    {
        Seen.Log.Enqueue("count:" + message.Id);
        return default;
    }
}

/// <summary>A second handler of the same event, which reads its context and cascades through it.</summary>
public sealed class CascadingPingHandler : IHandler<GenPing>
{
    public ValueTask HandleAsync(GenPing message, MessageContext context, CancellationToken cancellationToken)
    {
        Seen.Log.Enqueue("cascade:" + message.Id);
        return context.PublishAsync(new GenCascade(message.Id), cancellationToken);
    }
}

public sealed class CascadeHandler : IHandler<GenCascade>
{
    public ValueTask HandleAsync(GenCascade message, MessageContext context, CancellationToken cancellationToken)
    {
        Seen.Log.Enqueue("cascaded:" + message.Id);
        return default;
    }
}

/// <summary>Answers with the message id it read from its context.</summary>
public sealed class QuestionHandler : IHandler<GenQuestion, GenAnswer>
{
    public ValueTask<GenAnswer> HandleAsync(GenQuestion message, MessageContext context, CancellationToken cancellationToken)
        => new(new GenAnswer(message.N * 2, context.MessageId));
}

public interface IGenClock
{
    string Stamp { get; }
}

/// <summary>Parameterless on a standalone bus, its service constructor with a container.</summary>
public sealed class StampingCommandHandler : IHandler<GenCommand>
{
    private readonly string _stamp;

    public StampingCommandHandler()
        : this(null)
    {
    }

    public StampingCommandHandler(IGenClock? clock) => _stamp = clock?.Stamp ?? "no clock";

    public ValueTask HandleAsync(GenCommand message, MessageContext context, CancellationToken cancellationToken)
    {
        if (message.Id.StartsWith("fail", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("refused " + message.Id);
        }

        Seen.Log.Enqueue(_stamp + ":" + message.Id);
        return default;
    }
}

/// <summary>What the <see cref="GenFanout"/> handlers do; a <c>later</c> step waits for the test to open its gate.</summary>
public static class Fanout
{
    private static readonly ConcurrentDictionary<string, TaskCompletionSource> Gates = new();

    public static TaskCompletionSource Gate(string id) => Gates.GetOrAdd(id, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public static ValueTask Run(int position, GenFanout message)
    {
        Seen.Log.Enqueue($"fanout{position}:{message.Id}");
        return message.Steps.Split(',')[position - 1] switch
        {
            "throw" => throw new InvalidOperationException($"fanout{position} refused {message.Id}"),
            "later" => new ValueTask(Gate(message.Id).Task),
            _ => default,
        };
    }
}

public sealed class FanoutFirst : IHandler<GenFanout>
{
    public ValueTask HandleAsync(GenFanout message, MessageContext context, CancellationToken cancellationToken) => Fanout.Run(1, message);
}

public sealed class FanoutSecond : IHandler<GenFanout>
{
    public ValueTask HandleAsync(GenFanout message, MessageContext context, CancellationToken cancellationToken) => Fanout.Run(2, message);
}

public sealed class FanoutThird : IHandler<GenFanout>
{
    public ValueTask HandleAsync(GenFanout message, MessageContext context, CancellationToken cancellationToken) => Fanout.Run(3, message);
}

/// <summary>The metadata the serializer uses for these messages (the generator hands it to the bus).</summary>
[JsonSerializable(typeof(GenPing))]
[JsonSerializable(typeof(GenQuestion))]
[JsonSerializable(typeof(GenAnswer))]
[JsonSerializable(typeof(GenCommand))]
[JsonSerializable(typeof(GenCascade))]
[JsonSerializable(typeof(GenFanout))]
internal sealed partial class GenJsonContext : JsonSerializerContext;
