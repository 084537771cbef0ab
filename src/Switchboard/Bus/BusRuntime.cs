using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchboard.Dispatch;
using Switchboard.Observability;
using Switchboard.Pipeline;
using Switchboard.Responses;
using Switchboard.Routing;
using Switchboard.Serialization;
using Switchboard.Transport;

namespace Switchboard.Bus;

/// <summary>What a bus and all its scopes share: the frozen routing, the transport, the stores, the worker pool.</summary>
internal sealed class BusRuntime
{
    public BusRuntime(
        BusOptions options,
        Router router,
        MessageTypeRegistry types,
        IMessageSerializer serializer,
        IResponseStore responseStore,
        ITransport transport,
        bool ownsTransport,
        ILoggerFactory loggerFactory,
        TimeProvider time,
        IServiceScopeFactory? scopeFactory,
        PartitionKeys? partitionKeys = null)
    {
        Options = options;
        Router = router;
        Types = types;
        Serializer = serializer;
        JsonOptions = (serializer as JsonMessageSerializer)?.Options ?? JsonMessageSerializer.WithDefaultResolver(new JsonSerializerOptions(JsonSerializerDefaults.Web));
        ResponseStore = responseStore;
        Transport = transport;
        OwnsTransport = ownsTransport;
        Logger = loggerFactory.CreateLogger("Switchboard");
        Time = time;
        ScopeFactory = scopeFactory;
        Tracing = options.EnableTracing;
        Codec = new EnvelopeCodec(types, serializer, options.Name, time, options.MaxMessageBytes, partitionKeys ?? PartitionKeys.None);
        Background = new BackgroundQueue(options.BackgroundQueueCapacity, options.BackgroundConcurrency, Logger);
    }

    public BusOptions Options { get; }

    /// <summary>Handler instances the bus created itself; disposed when the root bus stops (see <c>BusBuilder.OwnedHandlers</c>).</summary>
    public IReadOnlyList<object> OwnedHandlers { get; init; } = [];

    public Router Router { get; }

    public MessageTypeRegistry Types { get; }

    public IMessageSerializer Serializer { get; }

    public JsonSerializerOptions JsonOptions { get; }

    public IResponseStore ResponseStore { get; }

    public ITransport Transport { get; }

    /// <summary>Gets whether the bus created the transport (the default in-memory one) and so disposes it.</summary>
    public bool OwnsTransport { get; }

    public TransportCounters TransportCounters { get; } = new();

    public EnvelopeCodec Codec { get; }

    public ILogger Logger { get; }

    public TimeProvider Time { get; }

    public IServiceScopeFactory? ScopeFactory { get; }

    public bool Tracing { get; }

    public BackgroundQueue Background { get; }

    /// <summary>The queue <c>ExecuteAsync</c> sends to and this bus's worker consumes: the bus's name.</summary>
    public string EndpointName => Options.Name;
}
