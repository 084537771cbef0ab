using Microsoft.CodeAnalysis;

namespace Switchboard.SourceGenerator;

/// <summary>What would fail at run time, reported at compile time instead.</summary>
internal static class Diagnostics
{
    private const string Category = "Switchboard";

    public static readonly DiagnosticDescriptor RequestWithSeveralHandlers = new(
        "SWB001",
        "A request or command with a result has more than one handler",
        "{0} has {1} handlers ({2}), but a request or a command with a result has exactly one; the bus would refuse to start. Keep one handler, or publish an event type instead.",
        Category,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnconstructibleHandler = new(
        "SWB002",
        "A handler class cannot be constructed",
        "Handler {0} cannot be constructed: {1}. Give it a public or internal constructor, or register an instance with AddHandler(instance).",
        Category,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnserializableMessage = new(
        "SWB003",
        "A message type cannot be serialized",
        "Message type {0} cannot be read by System.Text.Json: {1}. It works in process, but a transport, the outbox or the response store would fail on it.",
        Category,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor MissingJsonMetadata = new(
        "SWB004",
        "A message type is missing from the application's JsonSerializerContext",
        "Message type {0} is not in {1}: it would be serialized by reflection, which trimming and Native AOT do not have. Add [JsonSerializable(typeof({0}))] to the context.",
        Category,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor HandlerNotReachable = new(
        "SWB005",
        "A handler class is not registered by AddGeneratedHandlers",
        "Handler {0} is not registered by AddGeneratedHandlers(): {1}",
        Category,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor RequestResultMismatch = new(
        "SWB006",
        "A request's handler returns another type than the request promises",
        "{0} implements IRequest<{1}>, but its handler {2} {3}; the bus would refuse to start. Implement IHandler<{0}, {1}>.",
        Category,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);
}
