package onnximport

import (
	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/simple"
	"gorgonia.org/tensor"

	onnx "github.com/owulveryck/onnx-go"
)

// backend receives the decoded ONNX graph from onnx-go. onnx-go adds, for every node, an
// edge from each output to each input weighted by the input's position, then calls
// ApplyOperation. We keep our own edge lists (the simple graph would merge an input used
// twice) and the operations in file order, which ONNX requires to be topological.
type backend struct {
	*simple.WeightedDirectedGraph
	nodes  map[int64]*node
	inputs map[int64][]edge // output node -> its op's inputs
	ops    []appliedOp
}

type edge struct {
	to  int64
	pos float64
}

type appliedOp struct {
	op      onnx.Operation
	outputs []*node
}

type node struct {
	id     int64
	name   string
	tensor tensor.Tensor
}

func (n *node) ID() int64                       { return n.id }
func (n *node) SetName(s string)                { n.name = s }
func (n *node) GetName() string                 { return n.name }
func (n *node) SetTensor(t tensor.Tensor) error { n.tensor = t; return nil }
func (n *node) GetTensor() tensor.Tensor        { return n.tensor }

func newBackend() *backend {
	return &backend{
		WeightedDirectedGraph: simple.NewWeightedDirectedGraph(0, 0),
		nodes:                 map[int64]*node{},
		inputs:                map[int64][]edge{},
	}
}

func (b *backend) NewNode() graph.Node {
	return &node{id: b.WeightedDirectedGraph.NewNode().ID()}
}

func (b *backend) AddNode(n graph.Node) {
	b.WeightedDirectedGraph.AddNode(n)
	b.nodes[n.ID()] = n.(*node)
}

func (b *backend) SetWeightedEdge(e graph.WeightedEdge) {
	from, to := e.From().ID(), e.To().ID()
	b.inputs[from] = append(b.inputs[from], edge{to, e.Weight()})
	if from != to {
		b.WeightedDirectedGraph.SetWeightedEdge(e)
	}
}

func (b *backend) ApplyOperation(op onnx.Operation, outs ...graph.Node) error {
	a := appliedOp{op: op}
	for _, o := range outs {
		a.outputs = append(a.outputs, o.(*node))
	}
	b.ops = append(b.ops, a)
	return nil
}
