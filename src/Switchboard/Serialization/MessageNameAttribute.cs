namespace Switchboard;

/// <summary>
/// Gives a message type a stable wire name, used in the <c>ce-type</c> header instead of the CLR type name, so that a
/// type can be renamed or moved without breaking messages in flight or services in other languages.
/// </summary>
/// <param name="name">The stable name, for example <c>orders.created.v1</c>.</param>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
public sealed class MessageNameAttribute(string name) : Attribute
{
    /// <summary>Gets the stable name.</summary>
    public string Name { get; } = name;
}
