using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Switchboard.Dispatch;
using Switchboard.Streams;

namespace Switchboard
{
    /// <summary>
    /// An async stream of the events of one type (seed 003's <c>ctx.subscribe</c>): registered when created, buffered in a
    /// bounded channel, enumerated once. Disposing it, or leaving its <c>await foreach</c>, removes the subscription; when
    /// the bus shuts down the enumeration ends after the buffered events.
    /// </summary>
    /// <typeparam name="T">The event type (derived events included).</typeparam>
    public sealed class EventStream<T> : IAsyncEnumerable<T>, IAsyncDisposable, IStreamSink
    {
        private readonly Channel<T> _channel;
        private readonly Subscription _subscription;
        private readonly Action<IStreamSink> _removed;
        private readonly bool _waitWhenFull;
        private int _enumerated;

        internal EventStream(StreamOptions options, Subscription subscription, Action<IStreamSink> removed)
        {
            _channel = Channel.CreateBounded<T>(new BoundedChannelOptions(options.Capacity)
            {
                FullMode = options.FullMode,
                SingleReader = true,
                SingleWriter = false,
            });
            _waitWhenFull = options.FullMode == BoundedChannelFullMode.Wait;
            _subscription = subscription;
            _removed = removed;
        }

        /// <summary>Gets how many events are buffered and not yet read.</summary>
        public int Count => _channel.Reader.Count;

        /// <summary>Gets whether the stream still receives events.</summary>
        public bool IsActive => _subscription.IsActive;

        /// <inheritdoc />
        public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref _enumerated, 1) != 0)
            {
                throw new InvalidOperationException($"This stream of {typeof(T).Name} is already being enumerated; open another with IMessageBus.Stream<{typeof(T).Name}>().");
            }

            return EnumerateAsync(cancellationToken);
        }

        /// <summary>Removes the subscription and ends the enumeration once the buffered events are read.</summary>
        /// <returns>A completed task.</returns>
        public ValueTask DisposeAsync()
        {
            Complete();
            return default;
        }

        void IStreamSink.Complete() => Complete();

        internal ValueTask WriteAsync(T item, CancellationToken cancellationToken)
        {
            if (_channel.Writer.TryWrite(item) || !_waitWhenFull)
            {
                return default;
            }

            return WaitForRoomAsync(item, cancellationToken);
        }

        // Pooled: a publisher that outruns its reader waits here once per buffer-full, and a box per wait is garbage the
        // raw channel does not make.
        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
        private async ValueTask WaitForRoomAsync(T item, CancellationToken cancellationToken)
        {
            try
            {
                await _channel.Writer.WriteAsync(item, cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
                // The stream was disposed while the publisher waited for room: nobody will read the event.
            }
        }

        private void Complete()
        {
            _subscription.Dispose();
            if (_channel.Writer.TryComplete())
            {
                _removed(this);
            }
        }

        private async IAsyncEnumerator<T> EnumerateAsync(CancellationToken cancellationToken)
        {
            // The caller's token is registered once for the whole enumeration, and the waits for events take none: a wait
            // with a cancellable token costs the channel a new waiter and a registration every time the reader catches up,
            // a wait without one reuses the channel's single waiter. Cancelling ends the stream as leaving the loop would
            // (Complete), which wakes a waiting reader; the checks below turn that into the caller's cancellation.
            CancellationTokenRegistration registration = cancellationToken.CanBeCanceled
                ? cancellationToken.UnsafeRegister(static state => ((EventStream<T>)state!).Complete(), this)
                : default;
            try
            {
                ChannelReader<T> reader = _channel.Reader;
                while (true)
                {
                    // Checked before each wait, as a wait with the token would: the events already taken have been
                    // yielded, the ones still buffered are not once the enumeration is cancelled.
                    cancellationToken.ThrowIfCancellationRequested();
                    if (!await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
                    {
                        break;
                    }

                    while (reader.TryRead(out T? item))
                    {
                        yield return item;
                    }
                }

                // Completed by the cancellation rather than by the bus or DisposeAsync: still the caller's cancellation.
                cancellationToken.ThrowIfCancellationRequested();
            }
            finally
            {
                registration.Dispose();
                Complete();
            }
        }
    }
}

namespace Switchboard.Streams
{
    /// <summary>What the bus needs of a stream to end it at shutdown.</summary>
    internal interface IStreamSink
    {
        void Complete();
    }

    internal sealed class StreamInvoker<T>(EventStream<T> stream) : HandlerInvoker(typeof(T), $"stream of {typeof(T).Name}", needsContext: false)
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        public override ValueTask InvokeAsync(object message, MessageContext? context, CancellationToken cancellationToken)
        {
            try
            {
                return stream.WriteAsync(Routed.As<T>(message), cancellationToken);
            }
            catch (Exception ex)
            {
                return ValueTask.FromException(ex);
            }
        }
    }
}
