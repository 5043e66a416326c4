package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
)

// driverConn is what the writer uses of the driver's connection.
type driverConn interface {
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
}

// rawConn is the writer's one connection, held from Open to Close, which
// the writer drives through the driver's own interface: database/sql
// converts and checks every value of every statement, and an INSERT of
// 32 messages binds 320, so that was a tenth of a durable publish's CPU.
// Every use is inside do, so that database/sql never uses the connection
// at the same time; only the writer goroutine uses it once Open returns.
type rawConn struct {
	c     *sql.Conn
	dc    driverConn // valid inside do only
	stmts [nStmts]driver.StmtExecContext
	nv    []driver.NamedValue // the values of the statement being run
	tx    driver.Tx           // the open transaction, if any
}

// open takes db's connection and prepares the writer's statements on it.
func (r *rawConn) open(db *sql.DB) error {
	var err error
	if r.c, err = db.Conn(context.Background()); err != nil {
		return err
	}
	return r.do(func() error {
		for i := range nStmts {
			st, err := r.dc.PrepareContext(context.Background(), stmtSQL(i))
			if err != nil {
				return err
			}
			x, ok := st.(driver.StmtExecContext)
			if !ok {
				st.Close()
				return fmt.Errorf("the sqlite driver's statements do not implement driver.StmtExecContext")
			}
			r.stmts[i] = x
		}
		return nil
	})
}

// do runs f with r.dc set to the driver's connection.
func (r *rawConn) do(f func() error) error {
	return r.c.Raw(func(dc any) error {
		c, ok := dc.(driverConn)
		if !ok {
			return fmt.Errorf("the sqlite driver's connection (%T) lacks an interface the writer needs", dc)
		}
		r.dc = c
		defer func() { r.dc = nil }()
		return f()
	})
}

// close closes the statements and gives the connection back to its pool.
func (r *rawConn) close() error {
	if r.c == nil {
		return nil
	}
	var errs []error
	errs = append(errs, r.do(func() error {
		var errs []error
		for _, st := range r.stmts {
			if st != nil {
				errs = append(errs, st.(driver.Stmt).Close())
			}
		}
		return errors.Join(errs...)
	}))
	return errors.Join(append(errs, r.c.Close())...)
}

// named sets r.nv to args, numbered from 1, and returns it.
func (r *rawConn) named(args []any) []driver.NamedValue {
	r.nv = r.nv[:0]
	for i, v := range args {
		r.nv = append(r.nv, driver.NamedValue{Ordinal: i + 1, Value: v})
	}
	return r.nv
}

// exec runs prepared statement i with args; inside do only.
func (r *rawConn) exec(ctx context.Context, i int, args ...any) error {
	_, err := r.stmts[i].ExecContext(ctx, r.named(args))
	clear(r.nv)
	return err
}

// execSQL runs query with args; inside do only.
func (r *rawConn) execSQL(ctx context.Context, query string, args ...any) error {
	_, err := r.dc.ExecContext(ctx, query, r.named(args))
	clear(r.nv)
	return err
}

// queryRow runs query with args and reads its first row into dest (an
// int64 for an integer, nil for NULL); it reports whether there was one.
// Inside do only.
func (r *rawConn) queryRow(ctx context.Context, query string, dest []driver.Value, args ...any) (bool, error) {
	rows, err := r.dc.QueryContext(ctx, query, r.named(args))
	clear(r.nv)
	if err != nil {
		return false, err
	}
	err = rows.Next(dest)
	cerr := rows.Close()
	switch {
	case errors.Is(err, io.EOF):
		return false, cerr
	case err != nil:
		return false, err
	}
	return true, cerr
}

// begin starts a transaction; inside do only.
func (r *rawConn) begin(ctx context.Context) error {
	tx, err := r.dc.BeginTx(ctx, driver.TxOptions{})
	if err != nil {
		return err
	}
	r.tx = tx
	return nil
}

// commit commits the open transaction; inside do only.
func (r *rawConn) commit() error {
	tx := r.tx
	r.tx = nil
	return tx.Commit()
}

// rollback rolls back the open transaction, if one is; inside do only.
func (r *rawConn) rollback() {
	if r.tx != nil {
		r.tx.Rollback()
		r.tx = nil
	}
}
