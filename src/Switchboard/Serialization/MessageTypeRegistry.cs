using System.Collections.Frozen;
using System.Reflection;

namespace Switchboard.Serialization;

/// <summary>
/// The allow-list of message types: a stable name for each type, and the only way back from a name to a type. A name
/// that came over the wire is looked up here and nowhere else; no type is ever loaded by a name from outside.
/// </summary>
public sealed class MessageTypeRegistry
{
    private readonly FrozenDictionary<string, Type> _byName;
    private readonly FrozenDictionary<Type, string> _byType;

    internal MessageTypeRegistry(IEnumerable<KeyValuePair<Type, string?>> types)
    {
        Dictionary<string, Type> byName = new(StringComparer.Ordinal);
        Dictionary<Type, string> byType = [];
        foreach ((Type type, string? explicitName) in types)
        {
            string name = explicitName ?? DefaultName(type);
            if (byType.TryGetValue(type, out string? existing))
            {
                if (existing != name && explicitName is not null)
                {
                    throw new BusConfigurationException($"Message type {type.FullName} is registered under two names, '{existing}' and '{name}'.");
                }

                continue;
            }

            if (byName.TryGetValue(name, out Type? other) && other != type)
            {
                throw new BusConfigurationException(
                    $"Message types {other.FullName} and {type.FullName} share the wire name '{name}'. Give one of them a distinct name with [MessageName] or AddMessageType<T>(name).");
            }

            byName[name] = type;
            byType[type] = name;
        }

        _byName = byName.ToFrozenDictionary(StringComparer.Ordinal);
        _byType = byType.ToFrozenDictionary();
    }

    /// <summary>Gets the registered types.</summary>
    public IEnumerable<Type> Types => _byType.Keys;

    /// <summary>Returns the stable name of a type: its registered name, its <see cref="MessageNameAttribute"/>, or its full name.</summary>
    /// <param name="type">The message type.</param>
    /// <returns>The name.</returns>
    public string GetName(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return _byType.TryGetValue(type, out string? name) ? name : DefaultName(type);
    }

    /// <summary>Returns whether the type is on the allow-list.</summary>
    /// <param name="type">The message type.</param>
    /// <returns><see langword="true"/> when registered.</returns>
    public bool IsRegistered(Type type) => _byType.ContainsKey(type);

    /// <summary>Looks a wire name up in the allow-list.</summary>
    /// <param name="name">The name from the <c>ce-type</c> header.</param>
    /// <param name="type">The registered type, when found.</param>
    /// <returns><see langword="true"/> when the name is registered.</returns>
    public bool TryGetType(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Type? type)
        => _byName.TryGetValue(name, out type);

    internal static string DefaultName(Type type)
        => type.GetCustomAttribute<MessageNameAttribute>()?.Name ?? type.FullName ?? type.Name;
}
