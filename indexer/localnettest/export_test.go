package localnettest

// SetBeforeRollback makes Abandon call f between reading the tip and
// rolling back.
func SetBeforeRollback(n *Node, f func(try int)) { n.beforeRollback = f }
