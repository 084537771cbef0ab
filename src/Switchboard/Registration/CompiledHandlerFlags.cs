namespace Switchboard;

/// <summary>
/// What the source generator found out about a handler class at compile time; passed by generated code to
/// <see cref="BusBuilder.AddCompiledHandler{THandler, TMessage}(Func{IServiceProvider, THandler}, CompiledHandlerFlags)"/>.
/// </summary>
[Flags]
public enum CompiledHandlerFlags
{
    /// <summary>The handler has a parameterless constructor and never reads its <see cref="MessageContext"/> parameter.</summary>
    None = 0,

    /// <summary>The handler's <c>HandleAsync</c> reads its <see cref="MessageContext"/> (or the generator could not tell).</summary>
    UsesContext = 1,

    /// <summary>The handler's constructor takes services, so it can only be created from dependency injection.</summary>
    NeedsServices = 2,
}
