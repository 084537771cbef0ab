using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Switchboard.SourceGenerator;

/// <summary>The generator's output for one compilation: its source and its diagnostics.</summary>
internal sealed record GenerationResult(string Source, ImmutableArray<Diagnostic> Diagnostics);

/// <summary>Decides what to register and what to report, then writes the source.</summary>
internal static class Plan
{
    public static GenerationResult Build(ImmutableArray<TypeModel> models)
    {
        List<Diagnostic> diagnostics = [];
        HandlerModel[] handlers = [.. models.Select(m => m.Handler).Where(h => h is not null).Select(h => h!)
            .GroupBy(h => h.FullName).Select(g => g.First()).OrderBy(h => h.FullName, System.StringComparer.Ordinal)];
        JsonContextModel[] contexts = [.. models.Select(m => m.JsonContext).Where(c => c is not null).Select(c => c!)
            .GroupBy(c => c.FullName).Select(g => g.First()).OrderBy(c => c.FullName, System.StringComparer.Ordinal)];

        List<HandlerModel> registered = [];
        foreach (HandlerModel handler in handlers)
        {
            Location location = handler.Location?.ToLocation() ?? Location.None;
            if (handler.Skip is not null)
            {
                if (handler.ReportSkip)
                {
                    diagnostics.Add(Diagnostic.Create(Diagnostics.HandlerNotReachable, location, handler.DisplayName, handler.Skip));
                }

                continue;
            }

            if (handler.Unconstructible is not null)
            {
                diagnostics.Add(Diagnostic.Create(Diagnostics.UnconstructibleHandler, location, handler.DisplayName, handler.Unconstructible));
                continue;
            }

            registered.Add(handler);
        }

        CheckRequests(registered, diagnostics);

        // Every message and result type, once, in a stable order.
        Dictionary<string, (MessageTypeModel Type, HandlerModel Owner)> messageTypes = new(System.StringComparer.Ordinal);
        foreach (HandlerModel handler in registered)
        {
            foreach (HandledModel handled in handler.Handled)
            {
                Add(handled.Message, handler);
                if (handled.Result is not null)
                {
                    Add(handled.Result, handler);
                }
            }
        }

        void Add(MessageTypeModel type, HandlerModel owner)
        {
            if (!messageTypes.ContainsKey(type.FullName))
            {
                messageTypes[type.FullName] = (type, owner);
            }
        }

        HashSet<string> covered = new(contexts.SelectMany(c => c.Types), System.StringComparer.Ordinal);
        foreach ((MessageTypeModel type, HandlerModel owner) in messageTypes.Values.OrderBy(v => v.Type.FullName, System.StringComparer.Ordinal))
        {
            Location location = owner.Location?.ToLocation() ?? Location.None;
            if (type.SerializationProblem is not null)
            {
                diagnostics.Add(Diagnostic.Create(Diagnostics.UnserializableMessage, location, type.DisplayName, type.SerializationProblem));
            }
            else if (contexts.Length > 0 && type.NeedsJsonMetadata && !covered.Contains(type.FullName))
            {
                diagnostics.Add(Diagnostic.Create(Diagnostics.MissingJsonMetadata, location, type.DisplayName, string.Join(", ", contexts.Select(c => c.FullName.Replace("global::", string.Empty)))));
            }
        }

        JsonContextModel[] usedContexts = [.. contexts.Where(c => c.Reachable && c.Types.Any(t => messageTypes.ContainsKey(t)))];
        string source = Emitter.Write(registered, [.. messageTypes.Values.Select(v => v.Type).Where(t => t.IsConcrete).OrderBy(t => t.FullName, System.StringComparer.Ordinal)], usedContexts);
        return new GenerationResult(source, [.. diagnostics]);
    }

    /// <summary>SWB001 (several handlers of a request or a command with a result) and SWB006 (a request answered with the wrong type).</summary>
    private static void CheckRequests(List<HandlerModel> handlers, List<Diagnostic> diagnostics)
    {
        IEnumerable<IGrouping<string, (HandlerModel Handler, HandledModel Handled)>> byMessage = handlers
            .SelectMany(h => h.Handled.Select(x => (Handler: h, Handled: x)))
            .GroupBy(x => x.Handled.Message.FullName, System.StringComparer.Ordinal);
        foreach (IGrouping<string, (HandlerModel Handler, HandledModel Handled)> group in byMessage)
        {
            (HandlerModel Handler, HandledModel Handled)[] entries = [.. group];
            MessageTypeModel message = entries[0].Handled.Message;
            bool isRequest = message.RequestResult is not null || entries.Any(e => e.Handled.Result is not null);
            if (isRequest && entries.Length > 1)
            {
                string names = string.Join(", ", entries.Select(e => e.Handler.DisplayName));
                foreach ((HandlerModel handler, _) in entries)
                {
                    diagnostics.Add(Diagnostic.Create(Diagnostics.RequestWithSeveralHandlers, handler.Location?.ToLocation() ?? Location.None, message.DisplayName, entries.Length, names));
                }

                continue;
            }

            if (message.RequestResult is { } promised)
            {
                (HandlerModel handler, HandledModel handled) = entries[0];
                if (handled.Result?.FullName != promised)
                {
                    diagnostics.Add(Diagnostic.Create(
                        Diagnostics.RequestResultMismatch,
                        handler.Location?.ToLocation() ?? Location.None,
                        message.DisplayName,
                        Short(promised),
                        handler.DisplayName,
                        handled.Result is null ? "returns nothing" : "returns " + handled.Result.DisplayName));
                }
            }
        }
    }

    private static string Short(string fullName)
    {
        string name = fullName.Replace("global::", string.Empty);
        int generic = name.IndexOf('<');
        int dot = name.LastIndexOf('.', generic < 0 ? name.Length - 1 : generic);
        return dot < 0 ? name : name.Substring(dot + 1);
    }
}
