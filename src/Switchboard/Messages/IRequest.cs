namespace Switchboard;

/// <summary>
/// Marks a message that is answered with a result of type <typeparamref name="TResult"/>.
/// <see cref="IMessageBus.RequestAsync{TResult}(IRequest{TResult}, RequestOptions?, CancellationToken)"/>
/// returns that result; exactly one handler may exist for a request type, and the bus refuses to build otherwise.
/// </summary>
/// <typeparam name="TResult">The type of the handler's result.</typeparam>
#pragma warning disable CA1040 // A marker interface is the point: it carries the result type for the compiler.
public interface IRequest<out TResult>
#pragma warning restore CA1040
{
}
