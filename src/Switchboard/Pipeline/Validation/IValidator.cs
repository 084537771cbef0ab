namespace Switchboard;

/// <summary>
/// Validates messages of one type for the validation middleware (<c>b.UseValidation()</c>): registered on the builder
/// with <c>b.AddValidator(...)</c> or in the container as <c>IValidator&lt;TMessage&gt;</c>.
/// </summary>
/// <typeparam name="TMessage">The message type; a validator of a base type or interface validates derived messages too when added on the builder.</typeparam>
public interface IValidator<in TMessage>
{
    /// <summary>Validates a message.</summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">The token of the call or handler.</param>
    /// <returns>What is wrong with the message, one sentence each; empty when it is valid.</returns>
    ValueTask<IReadOnlyList<string>> ValidateAsync(TMessage message, CancellationToken cancellationToken);
}
