using System.Reflection;
using System.Text.Json;

namespace Switchboard.EventSourcing;

/// <summary>
/// The allow-list of event types an event store writes and reads, each under a stable name (its
/// <see cref="MessageNameAttribute"/>, or the name given here, or its full type name), and how their bodies are serialized
/// (System.Text.Json). A stored name is only ever looked up here: no type is loaded by a name read from the database.
/// </summary>
/// <remarks>Register every event type before the store is used; the list is read concurrently afterwards.</remarks>
public sealed class EventTypes
{
    private readonly Dictionary<string, Type> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<Type, string> _byType = [];
    private readonly Lock _gate = new();

    /// <summary>Initializes a new instance of the <see cref="EventTypes"/> class with web defaults for JSON (camelCase).</summary>
    public EventTypes()
        : this(new JsonSerializerOptions(JsonSerializerDefaults.Web))
    {
    }

    /// <summary>Initializes a new instance of the <see cref="EventTypes"/> class.</summary>
    /// <param name="jsonOptions">How event bodies are serialized.</param>
    public EventTypes(JsonSerializerOptions jsonOptions)
    {
        ArgumentNullException.ThrowIfNull(jsonOptions);
        JsonOptions = jsonOptions;
    }

    /// <summary>Gets how event bodies are serialized.</summary>
    public JsonSerializerOptions JsonOptions { get; }

    /// <summary>Gets the registered types.</summary>
    public IReadOnlyCollection<Type> Types
    {
        get
        {
            lock (_gate)
            {
                return [.. _byType.Keys];
            }
        }
    }

    /// <summary>Registers an event type.</summary>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="name">Its stored name; by default its <see cref="MessageNameAttribute"/> or full type name.</param>
    /// <returns>This list.</returns>
    public EventTypes Add<TEvent>(string? name = null)
        where TEvent : DomainEvent
        => Add(typeof(TEvent), name);

    /// <summary>Registers an event type.</summary>
    /// <param name="type">A concrete type derived from <see cref="DomainEvent"/>.</param>
    /// <param name="name">Its stored name; by default its <see cref="MessageNameAttribute"/> or full type name.</param>
    /// <returns>This list.</returns>
    /// <exception cref="ArgumentException">The type is not a concrete <see cref="DomainEvent"/>, or the name is taken by another type.</exception>
    public EventTypes Add(Type type, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (!typeof(DomainEvent).IsAssignableFrom(type) || type.IsAbstract || type.ContainsGenericParameters)
        {
            throw new ArgumentException($"{type.FullName} is not a concrete DomainEvent record; only those are stored in an event store.", nameof(type));
        }

        name ??= type.GetCustomAttribute<MessageNameAttribute>()?.Name ?? type.FullName ?? type.Name;
        lock (_gate)
        {
            if (_byName.TryGetValue(name, out Type? other) && other != type)
            {
                throw new ArgumentException($"Event types {other.FullName} and {type.FullName} share the stored name '{name}'. Give one another name.", nameof(name));
            }

            if (_byType.TryGetValue(type, out string? existing) && existing != name)
            {
                throw new ArgumentException($"Event type {type.FullName} is already registered as '{existing}'; it cannot also be '{name}'.", nameof(name));
            }

            _byName[name] = type;
            _byType[type] = name;
        }

        return this;
    }

    /// <summary>Registers every concrete <see cref="DomainEvent"/> type of an assembly under its default name.</summary>
    /// <param name="assembly">The assembly.</param>
    /// <returns>This list.</returns>
    public EventTypes AddFromAssembly(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        foreach (Type type in assembly.GetTypes())
        {
            if (typeof(DomainEvent).IsAssignableFrom(type) && !type.IsAbstract && !type.ContainsGenericParameters)
            {
                Add(type);
            }
        }

        return this;
    }

    /// <summary>Returns the stored name of a registered type.</summary>
    /// <param name="type">The event's type.</param>
    /// <param name="name">Its name, when registered.</param>
    /// <returns><see langword="true"/> when registered.</returns>
    public bool TryGetName(Type type, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? name)
    {
        lock (_gate)
        {
            return _byType.TryGetValue(type, out name);
        }
    }

    /// <summary>Looks a stored name up.</summary>
    /// <param name="name">The stored name.</param>
    /// <param name="type">The registered type, when found.</param>
    /// <returns><see langword="true"/> when registered.</returns>
    public bool TryGetType(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Type? type)
    {
        lock (_gate)
        {
            return _byName.TryGetValue(name, out type);
        }
    }

    /// <summary>Serializes an event that is about to be stored at a version of a stream.</summary>
    internal (string Name, byte[] Body) Write(string streamId, long version, DomainEvent @event)
    {
        Type type = @event.GetType();
        if (!TryGetName(type, out string? name))
        {
            throw new ArgumentException(
                $"Event type {type.FullName} is not registered with the event store, so stream '{streamId}' cannot store it at version {version}. " +
                "Register it with EventTypes.Add<T>() (or AddEvent<T>() in AddEventSourcing); nothing was written.",
                nameof(@event));
        }

        return (name, JsonSerializer.SerializeToUtf8Bytes(@event, type, JsonOptions));
    }

    /// <summary>Reads a stored event; a type not on the list or an unreadable body fails naming the stream and the position.</summary>
    internal StoredEvent Read(long position, string streamId, long version, string name, ReadOnlySpan<byte> body, DateTimeOffset recordedAt)
    {
        if (!TryGetType(name, out Type? type))
        {
            throw new EventStoreReadException(
                streamId, position, version,
                $"its type '{name}' is not registered. Register the type under that name (EventTypes.Add<T>(\"{name}\")) or upcast the stored events");
        }

        DomainEvent? @event;
        try
        {
            @event = JsonSerializer.Deserialize(body, type, JsonOptions) as DomainEvent;
        }
        catch (JsonException ex)
        {
            throw new EventStoreReadException(streamId, position, version, $"its body is not a valid {type.FullName} ({ex.Message})", ex);
        }

        return @event is null
            ? throw new EventStoreReadException(streamId, position, version, $"its body is null, not a {type.FullName}")
            : new StoredEvent(position, streamId, version, name, @event, recordedAt);
    }
}
