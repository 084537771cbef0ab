using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Switchboard.EntityFrameworkCore;

/// <summary>Lets a <see cref="DbContext"/> carry the outbox: <c>services.AddDbContext&lt;AppDb&gt;(o =&gt; o.UseSqlite(cs).UseSwitchboardOutbox())</c>.</summary>
public static class SwitchboardDbContextOptionsExtensions
{
    /// <summary>
    /// Adds the interceptor that writes the outbox messages queued on the context
    /// (<see cref="OutboxDbContextExtensions.PublishAsync{TEvent}"/> without a transaction) during SaveChanges, in the
    /// transaction that saves the entities: the application's own, or one it begins and commits after the save succeeded.
    /// </summary>
    /// <param name="optionsBuilder">The context's options.</param>
    /// <returns>The options builder.</returns>
    /// <remarks>
    /// The context needs no reference to the bus: the outbox is named where a message is added
    /// (<c>outbox.PublishAsync(db, @event)</c>). With a retrying execution strategy (<c>EnableRetryOnFailure</c>), which
    /// forbids a transaction the strategy did not see begin, SaveChanges with queued messages throws: run the unit of work in
    /// <c>CreateExecutionStrategy().ExecuteAsync</c> with an explicit transaction instead.
    /// </remarks>
    public static DbContextOptionsBuilder UseSwitchboardOutbox(this DbContextOptionsBuilder optionsBuilder)
    {
        ArgumentNullException.ThrowIfNull(optionsBuilder);
        return IsAdded(optionsBuilder) ? optionsBuilder : optionsBuilder.AddInterceptors(OutboxSaveChangesInterceptor.Instance);
    }

    /// <summary>
    /// Adds the interceptor that writes the outbox messages queued on the context during SaveChanges, in the transaction that
    /// saves the entities (see <see cref="UseSwitchboardOutbox(DbContextOptionsBuilder)"/>).
    /// </summary>
    /// <typeparam name="TContext">The context type.</typeparam>
    /// <param name="optionsBuilder">The context's options.</param>
    /// <returns>The options builder.</returns>
    public static DbContextOptionsBuilder<TContext> UseSwitchboardOutbox<TContext>(this DbContextOptionsBuilder<TContext> optionsBuilder)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(optionsBuilder);
        return IsAdded(optionsBuilder) ? optionsBuilder : optionsBuilder.AddInterceptors(OutboxSaveChangesInterceptor.Instance);
    }

    /// <summary>Called twice, the interceptor would write every message twice.</summary>
    private static bool IsAdded(DbContextOptionsBuilder optionsBuilder)
        => optionsBuilder.Options.FindExtension<CoreOptionsExtension>()?.Interceptors?.Contains(OutboxSaveChangesInterceptor.Instance) == true;
}
