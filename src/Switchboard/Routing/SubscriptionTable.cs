using System.Collections.Concurrent;
using Switchboard.Dispatch;

namespace Switchboard.Routing;

/// <summary>
/// The runtime subscriptions of one bus or scope: a copy-on-write snapshot, so that publishing reads one field and never
/// locks, and a subscription is visible to every publish that starts after <see cref="Add"/> returns.
/// </summary>
internal sealed class SubscriptionTable
{
    private readonly Lock _gate = new();
    private volatile Snapshot _current = Snapshot.Empty;

    public bool IsEmpty => _current.IsEmpty;

    public Snapshot Current => _current;

    public void Add(HandlerInvoker[] invokers)
    {
        lock (_gate)
        {
            _current = new Snapshot([.. _current.All, .. invokers]);
        }
    }

    public void Remove(Subscription subscription)
    {
        lock (_gate)
        {
            HandlerInvoker[] kept = Array.FindAll(_current.All, invoker => !ReferenceEquals(invoker.Subscription, subscription));
            _current = kept.Length == 0 ? Snapshot.Empty : new Snapshot(kept);
        }
    }

    public sealed class Snapshot
    {
        public static readonly Snapshot Empty = new([]);

        private readonly ConcurrentDictionary<Type, Matched> _byType = new();

        public Snapshot(HandlerInvoker[] all)
        {
            All = all;
        }

        public HandlerInvoker[] All { get; }

        public bool IsEmpty => All.Length == 0;

        public Matched For(Type messageType)
            => _byType.TryGetValue(messageType, out Matched? matched)
                ? matched
                : _byType.GetOrAdd(messageType, static (type, all) => new Matched(Match(all, type)), All);

        /// <summary>
        /// The handlers a type reaches, one per subscription: a projection subscribed to a base type and a derived type,
        /// or to two interfaces of one event, receives the event once.
        /// </summary>
        private static HandlerInvoker[] Match(HandlerInvoker[] all, Type type)
        {
            List<HandlerInvoker> matched = [];
            foreach (HandlerInvoker invoker in all)
            {
                if (invoker.MessageType.IsAssignableFrom(type) && !HasSubscription(matched, invoker.Subscription))
                {
                    matched.Add(invoker);
                }
            }

            return [.. matched];
        }

        private static bool HasSubscription(List<HandlerInvoker> matched, Subscription? subscription)
        {
            if (subscription is null)
            {
                return false;
            }

            foreach (HandlerInvoker invoker in matched)
            {
                if (ReferenceEquals(invoker.Subscription, subscription))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>The runtime handlers one concrete type reaches, computed once per snapshot.</summary>
    public sealed class Matched
    {
        public static readonly Matched None = new([]);

        public Matched(HandlerInvoker[] handlers)
        {
            Handlers = handlers;
            foreach (HandlerInvoker handler in handlers)
            {
                NeedsContext |= handler.NeedsContext;
            }
        }

        public HandlerInvoker[] Handlers { get; }

        public bool NeedsContext { get; }
    }
}
