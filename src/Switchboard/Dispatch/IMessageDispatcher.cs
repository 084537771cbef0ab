namespace Switchboard.Dispatch;

/// <summary>What a <see cref="MessageContext"/> needs from the bus that dispatched its message.</summary>
internal interface IMessageDispatcher
{
    /// <summary>Throws now when a command cascaded from a handler would find no single handler later.</summary>
    void EnsureCommandHandler(Type commandType);

    /// <summary>Gets the bus's outbox, or <see langword="null"/>.</summary>
    Outbox.TransactionalOutbox? Outbox { get; }
}
